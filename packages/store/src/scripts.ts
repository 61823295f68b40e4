import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";

const LUA_DIR = fileURLToPath(new URL("../lua/", import.meta.url));

interface ScriptSource {
  name: string;
  numberOfKeys: number;
  lua: string;
}

/** Every `lua/<name>-<keys>.lua` file, read once: the key count comes from the file name. */
const SOURCES: ScriptSource[] = readdirSync(LUA_DIR)
  .filter((f) => f.endsWith(".lua"))
  .map((file) => {
    const match = /^([a-zA-Z]+)-(\d+)\.lua$/.exec(file);
    if (!match) throw new Error(`Lua script ${file} must be named <name>-<keyCount>.lua`);
    return { name: match[1]!, numberOfKeys: Number(match[2]), lua: readFileSync(LUA_DIR + file, "utf8") };
  });

export type ScriptName = "submit" | "assign" | "claim" | "finish" | "fold" | "register" | "heartbeat" | "move" | "acquireLease" | "renewLease" | "releaseLease" | "reassign" | "drain" | "markDrained" | "trim" | "reconcile" | "removeAgent" | "pruneReplicas";

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;

const PREFIX = "worksteal_";

/** Defines every script on the connection (EVALSHA with a fallback to EVAL, by ioredis). */
export function defineScripts(redis: Redis): (name: ScriptName, keys: string[], args: Array<string | number>) => Promise<unknown> {
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
