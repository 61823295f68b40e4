import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type ChainableCommander, Command } from "ioredis";
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

const BULLMQ_SCRIPT = /^--- @bullmq "([a-zA-Z]+)-(\d+)"\s*$/gm;
const requireFromHere = createRequire(import.meta.url);

/**
 * Replaces each `--- @bullmq "<name>-<keyCount>"` line with BullMQ's own script of that name, as
 * the installed BullMQ runs it (its shipped text, its includes resolved by its own build),
 * unchanged but for being wrapped in `local function <name>(KEYS, ARGV) ... end`: a script of
 * ours calls it with the keys and arguments BullMQ would send it, and it does exactly what
 * BullMQ's command would, atomically with the rest of the script.
 */
export function resolveBullmqScripts(lua: string, file: string): string {
  return lua.replace(BULLMQ_SCRIPT, (_line, name: string, keyCount: string) => {
    let shipped: unknown;
    try {
      shipped = (requireFromHere(`bullmq/dist/cjs/scripts/${name}-${keyCount}.js`) as Record<string, unknown>)[name];
    } catch {
      throw new Error(`Lua script ${file} names BullMQ's script ${name}-${keyCount}, which the installed BullMQ does not ship`);
    }
    const { content, keys } = (shipped ?? {}) as { content?: unknown; keys?: unknown };
    if (typeof content !== "string" || keys !== Number(keyCount))
      throw new Error(`Lua script ${file} names BullMQ's script ${name}-${keyCount}, which the installed BullMQ does not ship with ${keyCount} keys`);
    return `local function ${name}(KEYS, ARGV)\n${content}\nend`;
  });
}

/** Every `lua/<name>-<keys>.lua` file, read once with its includes: the key count comes from the file name. */
const SOURCES: ScriptSource[] = readdirSync(LUA_DIR)
  .filter((f) => f.endsWith(".lua"))
  .map((file) => {
    const match = /^([a-zA-Z]+)-(\d+)\.lua$/.exec(file);
    if (!match) throw new Error(`Lua script ${file} must be named <name>-<keyCount>.lua`);
    const lua = resolveBullmqScripts(resolveIncludes(readFileSync(LUA_DIR + file, "utf8"), file), file);
    return { name: match[1]!, numberOfKeys: Number(match[2]), lua };
  });

export type ScriptName =
  | "submit"
  | "assign"
  | "claim"
  | "claimMany"
  | "finish"
  | "finishMany"
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
  /** The sockets its text went out on (EVAL): Redis holds it for the EVALSHAs sent after on each. */
  sentOn: WeakSet<object>;
}

const SCRIPTS = new Map<string, LoadedScript>(
  SOURCES.map((s) => [s.name, { ...s, sha: createHash("sha1").update(s.lua).digest("hex"), sentOn: new WeakSet<object>() }]),
);

/** A script's argument: msgpacked ones (BullMQ's job arguments) go as bytes. */
export type ScriptArg = string | number | Buffer;

export type ScriptRunner = (name: ScriptName, keys: string[], args: ScriptArg[]) => Promise<unknown>;

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
 * One call of a script, written as EVAL with the script's text the first time it goes out on a
 * socket (a new connection, a reconnect) and as EVALSHA after, as ioredis' own script commands
 * are. It is decided as the call is written, so that the call never waits for a NOSCRIPT answer
 * and goes out again after commands issued later on its connection: an agent's finish must reach
 * Redis ahead of BullMQ's completion of its job, sent next on the same connection. An EVAL that
 * fails may have left Redis without the text (BUSY, NOPERM, MASTERDOWN): the socket is forgotten,
 * so the next call sends the text again. Redis answers NOSCRIPT only after a SCRIPT FLUSH, a
 * failover to a server that never ran the script, or to a call already written when such an EVAL
 * failed: the call is then sent again, as EVAL, after what its connection sent meanwhile.
 */
class ScriptCall extends Command {
  private writtenOn?: object;
  /** Whether an argument is bytes (a submit's msgpacked job arguments). */
  private readonly hasBytes: boolean;

  constructor(
    private readonly script: LoadedScript,
    keys: readonly string[],
    args: readonly ScriptArg[],
  ) {
    // The arguments are given as ioredis would make them (text, or bytes) rather than to its
    // constructor, whose Array.flat and per-argument conversion measured a few µs a call.
    super("evalsha", [], { replyEncoding: "utf8" });
    const written: Array<string | Buffer> = [script.sha, String(keys.length)];
    for (const key of keys) written.push(argumentText(key));
    let hasBytes = false;
    for (const arg of args) {
      if (Buffer.isBuffer(arg)) {
        hasBytes = true;
        written.push(arg);
      } else written.push(argumentText(arg));
    }
    this.args = written;
    this.hasBytes = hasBytes;
  }

  override toWritable(socket: object): string | Buffer {
    this.writtenOn = socket;
    const sendsText = !this.script.sentOn.has(socket);
    // A retry after a reconnect writes again on a socket that may have the text already.
    this.name = sendsText ? "eval" : "evalsha";
    this.args[0] = sendsText ? this.script.lua : this.script.sha;
    const writable = this.hasBytes ? commandBytes(this.name, this.args as Array<string | Buffer>) : super.toWritable(socket);
    // Only once the call is written: a call that could not be (it throws, and is never sent) must
    // leave the next call of the script on this socket to send the text, not an EVALSHA that
    // Redis answers NOSCRIPT and that then goes out again behind later commands.
    if (sendsText) this.script.sentOn.add(socket);
    return writable;
  }

  /** Sends the call on `container` (the connection, or one of its pipelines); a NOSCRIPT answer sends it again on `redis`. */
  static send(
    container: { sendCommand(command: Command): unknown },
    redis: RedisConnection,
    script: LoadedScript,
    keys: readonly string[],
    args: readonly ScriptArg[],
  ): Promise<unknown> {
    const call = new ScriptCall(script, keys, args);
    // A pipeline takes its reply from the promise as it is when the call is queued: chained first.
    call.promise = call.promise.catch((error: unknown) => {
      if (call.writtenOn && (call.name === "eval" || isNoScript(error))) script.sentOn.delete(call.writtenOn);
      if (!isNoScript(error)) throw error;
      const again = new ScriptCall(script, keys, args);
      redis.sendCommand(again);
      return again.promise;
    });
    container.sendCommand(call);
    return call.promise;
  }
}

/**
 * An argument as ioredis' own conversion (`toArg`) writes it, so that a call answers as it did
 * when ioredis converted it: nothing (a job whose data lacks the task id) as empty text, which a
 * script reads as no such task, and an integer beyond 2^53 in all its digits.
 */
function argumentText(arg: string | number | null | undefined): string {
  if (typeof arg === "string") return arg;
  if (arg === undefined || arg === null) return "";
  if (typeof arg === "number" && Number.isInteger(arg) && !Number.isSafeInteger(arg)) return BigInt(arg).toString();
  return String(arg);
}

/**
 * A command with bytes among its arguments, as Redis reads it (RESP), written as ioredis writes
 * it but with the text between two byte arguments encoded in one piece: ioredis encodes every
 * argument on its own (two length reads and one buffer write each), which measured a tenth of a
 * submitting client's CPU once a submit carried its job's msgpacked arguments.
 */
export function commandBytes(name: string, args: ReadonlyArray<string | Buffer>): Buffer {
  const pieces: Array<string | Buffer> = [];
  let text = `*${args.length + 1}\r\n$${Buffer.byteLength(name)}\r\n${name}\r\n`;
  for (const arg of args) {
    if (typeof arg === "string") {
      text += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
    } else {
      pieces.push(`${text}$${arg.length}\r\n`, arg);
      text = "\r\n";
    }
  }
  pieces.push(text);
  let length = 0;
  for (const piece of pieces) length += typeof piece === "string" ? Buffer.byteLength(piece) : piece.length;
  const bytes = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const piece of pieces) offset += typeof piece === "string" ? bytes.write(piece, offset) : piece.copy(bytes, offset);
  return bytes;
}

/**
 * Runs scripts on `redis` (ScriptCall: EVAL once per socket, EVALSHA after). The scripts are not
 * defined on the connection (ioredis' defineCommand): a pipeline or MULTI of a connection copies
 * every script defined on it onto itself, and connections shared with BullMQ's queues already
 * carry BullMQ's forty-odd.
 */
export function scriptRunner(redis: RedisConnection): ScriptRunner {
  return (name, keys, args) => ScriptCall.send(redis, redis, scriptFor(name, keys), keys, args);
}

/** Queues a script on a pipeline of `redis`; `exec` then answers its reply in its place (after a NOSCRIPT, the reply of sending it again). */
export function queueScript(redis: RedisConnection, pipeline: ChainableCommander, name: ScriptName, keys: string[], args: ScriptArg[]): void {
  // Its promise is the pipeline's to answer: a failure shows in exec's replies, not here.
  ScriptCall.send(pipeline as unknown as { sendCommand(command: Command): unknown }, redis, scriptFor(name, keys), keys, args).catch(() => undefined);
}
