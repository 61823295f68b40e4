import { jobIdFor } from "@worksteal/protocol";
import { scanNodeFor } from "./connection.js";
import { replyValues } from "./replies.js";
import type { Store } from "./store.js";

/** What `worksteal doctor` asks of the Redis server itself. */
export interface ServerFacts {
  version: string;
  /** null when CONFIG is refused (a managed Redis may rename or forbid it). */
  maxmemoryPolicy: string | null;
  maxclients: number | null;
  connectedClients: number;
  aofEnabled: boolean;
  /** CONFIG GET save: "" when RDB snapshots are off; null when CONFIG is refused. */
  rdbSave: string | null;
  /** Redis clock, ms. */
  now: number;
}

function infoFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

async function configValue(store: Store, name: string): Promise<string | null> {
  try {
    const reply = await store.redis.config("GET", name);
    return reply[1] ?? null;
  } catch {
    return null;
  }
}

export async function readServerFacts(store: Store): Promise<ServerFacts> {
  const [info, now, policy, maxclients, save] = await Promise.all([
    store.redis.info(),
    store.now(),
    configValue(store, "maxmemory-policy"),
    configValue(store, "maxclients"),
    configValue(store, "save"),
  ]);
  const fields = infoFields(info);
  return {
    version: fields.redis_version ?? "unknown",
    // INFO also carries the policy, for a server that refuses CONFIG.
    maxmemoryPolicy: policy ?? fields.maxmemory_policy ?? null,
    maxclients: maxclients === null ? null : Number(maxclients),
    connectedClients: Number(fields.connected_clients ?? 0),
    aofEnabled: fields.aof_enabled === "1",
    rdbSave: save,
    now,
  };
}

/** A task held by an agent set that no task record backs up, or a running task nobody works on. */
export interface HeldTask {
  taskId: string;
  agentId: string;
}

export interface StuckTask extends HeldTask {
  /** How long since the record last changed, Redis clock. */
  idleMs: number;
}

/**
 * Running tasks (from each agent's running set) whose BullMQ job lock is gone and whose record
 * has not changed for `boundMs`: no worker runs them and nothing has moved them. At most
 * `limit` tasks are looked at.
 */
export async function findStuckTasks(store: Store, agentIds: readonly string[], boundMs: number, limit: number): Promise<StuckTask[]> {
  const k = store.keys;
  const held: HeldTask[] = [];
  for (const agentId of agentIds) {
    if (held.length >= limit) break;
    const ids = await store.redis.srandmember(k.runningOf(agentId), limit - held.length);
    for (const taskId of ids) held.push({ taskId, agentId });
  }
  if (held.length === 0) return [];
  const records = replyValues(
    await held.reduce((p, t) => p.hmget(k.task(t.taskId), "epoch", "updatedAt", "state"), store.redis.pipeline()).exec(),
    "running tasks",
  ) as Array<Array<string | null>>;
  const locks = replyValues(
    await held
      .reduce((p, t, i) => p.exists(`${k.agentQueueKeys(t.agentId)}${jobIdFor(t.taskId, Number(records[i]![0] ?? 0))}:lock`), store.redis.pipeline())
      .exec(),
    "job locks",
  ) as number[];
  const now = await store.now();
  const stuck: StuckTask[] = [];
  held.forEach((t, i) => {
    const [, updatedAt, state] = records[i]!;
    const idleMs = now - Number(updatedAt ?? 0);
    if (state === "running" && locks[i] === 0 && idleMs > boundMs) stuck.push({ ...t, idleMs });
  });
  return stuck;
}

/**
 * Agents that hold tasks (a non-empty queued or running set) but are not registered, found by
 * SCAN over the namespace's agent keys: at most `maxScans` SCAN calls.
 */
export async function findUnknownHolders(store: Store, maxScans: number): Promise<Array<{ agentId: string; tasks: number }>> {
  const k = store.keys;
  const registered = new Set(await store.redis.smembers(k.agents));
  const holders = new Map<string, number>();
  const shape = new RegExp(`^${k.prefix.replace(/[{}[\]()*+?.\\^$|]/g, "\\$&")}agent:(.+):(queued|running)$`);
  let cursor = "0";
  for (let call = 0; call < maxScans; call++) {
    const [next, keys] = await (await scanNodeFor(store.redis, `${k.prefix}agent:*`)).scan(cursor, "MATCH", `${k.prefix}agent:*`, "COUNT", 500);
    cursor = next;
    for (const key of keys) {
      const agentId = shape.exec(key)?.[1];
      if (agentId === undefined || registered.has(agentId)) continue;
      holders.set(agentId, (holders.get(agentId) ?? 0) + (await store.redis.scard(key)));
    }
    if (cursor === "0") break;
  }
  return [...holders].filter(([, tasks]) => tasks > 0).map(([agentId, tasks]) => ({ agentId, tasks }));
}

/** Steal operations recorded in the last `windowMs` (Redis clock). */
export async function countRecentSteals(store: Store, now: number, windowMs: number): Promise<number> {
  return store.redis.zcount(store.keys.steals, now - windowMs, "+inf");
}
