import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ChainableCommander } from "ioredis";
import type { RedisConnection } from "./connection.js";

const LUA_DIR = fileURLToPath(new URL("../lua/", import.meta.url));

interface ScriptSource {
  name: string;
  numberOfKeys: number;
  lua: string;
}

const INCLUDE = /^--- @include "([a-zA-Z]+)"\s*$/gm;

/**
 * Replaces each `--- @include "<name>"` line with `lua/includes/<name>.lua`, as BullMQ's script
 * loader does: shared fragments live in one file. A fragment is pasted once per script, however
 * many times it is named, and may include others.
 */
export function resolveIncludes(lua: string, file: string, seen = new Set<string>()): string {
  return lua.replace(INCLUDE, (_line, name: string) => {
    if (seen.has(name)) return "";
    seen.add(name);
    let fragment: string;
    try {
      fragment = readFileSync(`${LUA_DIR}includes/${name}.lua`, "utf8");
    } catch {
      throw new Error(`Lua script ${file} includes "${name}", but lua/includes/${name}.lua does not exist`);
    }
    return resolveIncludes(fragment, file, seen);
  });
}

/** Every `lua/<name>-<keys>.lua` file, read once with its includes: the key count comes from the file name. */
const SOURCES: ScriptSource[] = readdirSync(LUA_DIR)
  .filter((f) => f.endsWith(".lua"))
  .map((file) => {
    const match = /^([a-zA-Z]+)-(\d+)\.lua$/.exec(file);
    if (!match) throw new Error(`Lua script ${file} must be named <name>-<keyCount>.lua`);
    return { name: match[1]!, numberOfKeys: Number(match[2]), lua: resolveIncludes(readFileSync(LUA_DIR + file, "utf8"), file) };
  });

export type ScriptName =
  | "submit"
  | "assign"
  | "claim"
  | "finish"
  | "fold"
  | "foldOwn"
  | "foldCursor"
  | "foldLease"
  | "register"
  | "heartbeat"
  | "move"
  | "acquireLease"
  | "renewLease"
  | "releaseLease"
  | "reassign"
  | "drain"
  | "markDrained"
  | "undrain"
  | "trim"
  | "reconcile"
  | "findMissingJobs"
  | "removeAgent"
  | "pruneReplicas"
  | "replayDeadLetter"
  | "forgetAgents"
  | "cancel"
  | "progress"
  | "promoteDue";

/** A script as Redis caches it: by the SHA1 of its text. */
interface LoadedScript extends ScriptSource {
  sha: string;
}

const SCRIPTS = new Map<string, LoadedScript>(SOURCES.map((s) => [s.name, { ...s, sha: createHash("sha1").update(s.lua).digest("hex") }]));

export type ScriptRunner = (name: ScriptName, keys: string[], args: Array<string | number>) => Promise<unknown>;

/** The script `name`, checked to take `keys`. */
function scriptFor(name: ScriptName, keys: readonly string[]): LoadedScript {
  const script = SCRIPTS.get(name);
  if (!script) throw new Error(`no Lua script named ${name}`);
  if (script.numberOfKeys !== keys.length) throw new Error(`script ${name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  return script;
}

/** Redis does not hold the script (restarted, failed over to a replica that never ran it, SCRIPT FLUSH). */
function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/**
 * Runs scripts on `redis` by EVALSHA, and by EVAL (which caches the script again) when Redis
 * answers NOSCRIPT. The scripts are not defined on the connection (ioredis' defineCommand): a
 * pipeline or MULTI of a connection copies every script defined on it onto itself, and
 * connections shared with BullMQ's queues already carry BullMQ's forty-odd.
 */
export function scriptRunner(redis: RedisConnection): ScriptRunner {
  return (name, keys, args) => {
    const script = scriptFor(name, keys);
    return redis.evalsha(script.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!isNoScript(error)) throw error;
      return redis.eval(script.lua, keys.length, ...keys, ...args);
    });
  };
}

/**
 * Queues a script on a pipeline (EVALSHA); `exec` then answers its reply in its place. A reply
 * that is NOSCRIPT means the script did not run: `rerunMissing` runs those again.
 */
export function queueScript(pipeline: ChainableCommander, name: ScriptName, keys: string[], args: Array<string | number>): void {
  pipeline.evalsha(scriptFor(name, keys).sha, keys.length, ...keys, ...args);
}

/**
 * A pipeline's replies to `name` queued once per call of `calls` (queueScript), with those Redis
 * answered NOSCRIPT (the script did not run) replaced by the reply of running it again, in order.
 */
export async function rerunMissing(
  replies: Array<[Error | null, unknown]>,
  name: ScriptName,
  calls: ReadonlyArray<readonly [keys: string[], args: Array<string | number>]>,
  run: ScriptRunner,
): Promise<Array<[Error | null, unknown]>> {
  const rerun = [...replies];
  for (let i = 0; i < rerun.length; i++) {
    if (!isNoScript(rerun[i]![0])) continue;
    const [keys, args] = calls[i]!;
    rerun[i] = await run(name, keys, args).then(
      (reply): [null, unknown] => [null, reply],
      (error: unknown): [Error, null] => [error as Error, null],
    );
  }
  return rerun;
}
