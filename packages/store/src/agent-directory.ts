import { AgentProfileSchema, type AgentProfile, type Workload } from "@worksteal/protocol";
import { replyValues, timeToMs } from "./replies.js";
import { inPages } from "./paging.js";
import type { Store } from "./store.js";

/** What an agent's hash says of it, beside its queue. */
export interface AgentRecord {
  profile: AgentProfile;
  /** The status field as last written (liveness is the heartbeat's business). */
  statusField: "alive" | "draining" | "drained";
  lastHeartbeat: number;
  /** Written by the heartbeat script (0 before the first heartbeat of this version). */
  cpu: number;
  memoryMb: number;
  metricsAt: number;
}

const RECORD_FIELDS = ["capabilities", "concurrency", "priority", "status", "lastHeartbeat", "cpu", "memoryMb", "metricsAt"] as const;

const finite = (value: string | null | undefined): number => {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
};

/** An agent hash's fields as a record; undefined when the hash is gone or its profile is not valid. */
function agentRecordOf(id: string, hash: Partial<Record<(typeof RECORD_FIELDS)[number], string | null>>): AgentRecord | undefined {
  if (hash.capabilities === null || hash.capabilities === undefined) return undefined;
  let capabilities: unknown;
  try {
    capabilities = JSON.parse(hash.capabilities);
  } catch {
    return undefined;
  }
  const profile = AgentProfileSchema.safeParse({ id, capabilities, concurrency: Number(hash.concurrency ?? 1), priority: Number(hash.priority ?? 0) });
  if (!profile.success) return undefined;
  return {
    profile: profile.data,
    statusField: hash.status === "draining" || hash.status === "drained" ? hash.status : "alive",
    lastHeartbeat: finite(hash.lastHeartbeat),
    cpu: finite(hash.cpu),
    memoryMb: finite(hash.memoryMb),
    metricsAt: finite(hash.metricsAt),
  };
}

/** An agent's completions as its workload hash holds them (durationSqSum absent: the hash has none). */
export type AgentDurations = Pick<Workload, "durationSumMs" | "durationCount" | "durationSqSum">;

/**
 * Each of `ids`'s completions as folded into its workload hash (same order), AGENTS_PER_READ per
 * round trip: the sum and count of its run durations, 0 and 0 where it has none (the planner's
 * per-agent averages and speeds rest on them), and the sum of their squares where the hash has it
 * (the planner's spread of run times; a hash folded before it was counted has none).
 */
export async function readAgentDurations(store: Store, ids: readonly string[]): Promise<AgentDurations[]> {
  return inPages(ids, async (page) => {
    const pipeline = store.redis.pipeline();
    for (const id of page) pipeline.hmget(store.keys.workload(id), "durationSumMs", "durationCount", "durationSqSum");
    const replies = (await pipeline.exec()) ?? [];
    return page.map((_, i): AgentDurations => {
      const [error, values] = replies[i] ?? [new Error("no reply")];
      // A hand-edited key of another type reads as no completions, as a gone agent's does.
      if (error) return { durationSumMs: 0, durationCount: 0 };
      const [sum, count, squares] = values as Array<string | null>;
      return { durationSumMs: finite(sum), durationCount: finite(count), ...(squares === null ? {} : { durationSqSum: finite(squares) }) };
    });
  });
}

/** Each of `ids`'s record (same order), AGENTS_PER_READ per round trip; undefined where the agent is gone. */
export async function readAgentRecords(store: Store, ids: readonly string[]): Promise<Array<AgentRecord | undefined>> {
  return inPages(ids, async (page) => {
    const pipeline = store.redis.pipeline();
    for (const id of page) pipeline.hmget(store.keys.agent(id), ...RECORD_FIELDS);
    const replies = (await pipeline.exec()) ?? [];
    return page.map((id, i) => {
      const [error, values] = replies[i] ?? [new Error("no reply")];
      // A hand-edited key of another type reads as a gone agent: it is skipped, not fatal.
      if (error) return undefined;
      const fields = values as Array<string | null>;
      return agentRecordOf(id, Object.fromEntries(RECORD_FIELDS.map((name, j) => [name, fields[j]])));
    });
  });
}

/** What changed among the agents since a reader's last look. */
export interface AgentChanges {
  /** Redis clock, ms, when this was read. */
  now: number;
  /** Agents registered or whose status changed since change number `after`, with their change numbers. */
  changed: Array<{ id: string; change: number }>;
  /** Agents whose heartbeat in the sorted set is older than the cut-off, with it. */
  quiet: Array<{ id: string; lastHeartbeat: number }>;
  /**
   * The id of the event stream's newest entry ("" when empty). Every task script that changes
   * an agent's queued or running count appends an event in the same step, so while this id
   * stays the same, the fleet's loads have not changed.
   */
  latestEventId: string;
}

/**
 * In one transaction: the Redis clock, the agents changed since change number `after`, the
 * agents whose last heartbeat is at or before `quietSince` (Redis clock, ms), and the newest
 * event's id: O(log agents + answer), whatever the fleet's size.
 */
export async function readAgentChanges(store: Store, after: number, quietSince: number): Promise<AgentChanges> {
  const k = store.keys;
  // Keyed commands first (a cluster routes a transaction by its first key); TIME last.
  const [changedFlat, quietFlat, newest, time] = replyValues(
    await store.redis
      .multi()
      .zrangebyscore(k.agentChanges, `(${after}`, "+inf", "WITHSCORES")
      .zrangebyscore(k.heartbeats, "-inf", quietSince, "WITHSCORES")
      .xrevrange(k.events, "+", "-", "COUNT", 1)
      .time()
      .exec(),
    "the agents' changes",
  ) as [string[], string[], Array<[string, string[]]>, [string, string]];
  const changed: AgentChanges["changed"] = [];
  for (let i = 0; i + 1 < changedFlat.length; i += 2) changed.push({ id: changedFlat[i]!, change: Number(changedFlat[i + 1]) });
  const quiet: AgentChanges["quiet"] = [];
  for (let i = 0; i + 1 < quietFlat.length; i += 2) quiet.push({ id: quietFlat[i]!, lastHeartbeat: Number(quietFlat[i + 1]) });
  return { now: timeToMs(time), changed, quiet, latestEventId: newest[0]?.[0] ?? "" };
}

/**
 * Every registered agent's record and the latest change number, for a reader starting afresh:
 * one read of the agents set, then the hashes. The change number is read first, so a change
 * made meanwhile is read again next time rather than missed.
 */
export async function readAllAgentRecords(store: Store): Promise<{ lastChange: number; records: Map<string, AgentRecord> }> {
  const k = store.keys;
  const [last, ids] = replyValues(await store.redis.multi().zrevrange(k.agentChanges, 0, 0, "WITHSCORES").smembers(k.agents).exec(), "the agents") as [
    string[],
    string[],
  ];
  const records = new Map<string, AgentRecord>();
  const read = await readAgentRecords(store, ids);
  ids.forEach((id, i) => {
    const record = read[i];
    if (record) records.set(id, record);
  });
  return { lastChange: last.length === 2 ? Number(last[1]) : 0, records };
}

/** One SSCAN step over the agents set from `cursor` ("0" to start; "0" again once past the end), about `count` ids. */
export async function scanAgentIds(store: Store, cursor: string, count: number): Promise<{ cursor: string; ids: string[] }> {
  const [next, ids] = await store.redis.sscan(store.keys.agents, cursor, "COUNT", count);
  return { cursor: next, ids };
}

/**
 * Agents whose heartbeat in the sorted set is at or before `before` (Redis clock, ms), oldest
 * first, `limit` of them after the first `offset`: candidates for removal, read without touching
 * the rest of the fleet.
 */
export async function readQuietAgents(store: Store, before: number, offset: number, limit: number): Promise<Array<{ id: string; lastHeartbeat: number }>> {
  const flat = await store.redis.zrangebyscore(store.keys.heartbeats, "-inf", before, "WITHSCORES", "LIMIT", offset, limit);
  const quiet: Array<{ id: string; lastHeartbeat: number }> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) quiet.push({ id: flat[i]!, lastHeartbeat: Number(flat[i + 1]) });
  return quiet;
}

/**
 * Brings the heartbeat sorted set in line with the hashes for `ids`: an agent whose hash says it
 * heartbeat later than the sorted set does (an agent of an earlier version, whose heartbeat script
 * wrote only the hash) gets the later time; a removed agent leaves both sorted sets.
 */
export async function syncHeartbeats(store: Store, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const k = store.keys;
  const pipeline = store.redis.pipeline();
  for (const id of ids) pipeline.hget(k.agent(id), "lastHeartbeat");
  const replies = (await pipeline.exec()) ?? [];
  const write = store.redis.pipeline();
  const removed: string[] = [];
  ids.forEach((id, i) => {
    const [error, value] = replies[i] ?? [new Error("no reply")];
    if (error) return;
    if (value === null) removed.push(id);
    else write.zadd(k.heartbeats, "GT", finite(value as string), id);
  });
  await write.exec();
  await store.forgetAgents(removed);
}
