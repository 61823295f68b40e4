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

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;

const PREFIX = "worksteal_";

/** Defines every script on the connection (EVALSHA with a fallback to EVAL, by ioredis). */
export function defineScripts(redis: RedisConnection): (name: ScriptName, keys: string[], args: Array<string | number>) => Promise<unknown> {
  for (const source of SOURCES) {
    const command = PREFIX + source.name;
    if (!(command in redis)) redis.defineCommand(command, { numberOfKeys: source.numberOfKeys, lua: source.lua });
  }
  const keyCounts = new Map(SOURCES.map((s) => [s.name, s.numberOfKeys]));
  return (name, keys, args) => {
    if (keyCounts.get(name) !== keys.length) throw new Error(`script ${name} takes ${keyCounts.get(name)} keys, got ${keys.length}`);
    const fn = (redis as unknown as Record<string, ScriptFn>)[PREFIX + name];
    if (!fn) throw new Error(`no Lua script named ${name}`);
    return fn.call(redis, ...keys, ...args);
  };
}

/**
 * Queues a script on a pipeline of a connection `defineScripts` has defined the scripts on (a
 * pipeline inherits them); `exec` then answers its reply in its place.
 */
export function queueScript(pipeline: ChainableCommander, name: ScriptName, keys: string[], args: Array<string | number>): void {
  // On a pipeline the command queues itself and returns the pipeline, not a promise.
  const fn = (pipeline as unknown as Record<string, ((...args: Array<string | number>) => ChainableCommander) | undefined>)[PREFIX + name];
  if (!fn) throw new Error(`no Lua script named ${name} on this pipeline`);
  fn.call(pipeline, ...keys, ...args);
}
