import { replyValues } from "./replies.js";
import type { Store } from "./store.js";

/** Tasks queued on an agent and tasks it runs, exactly as its task sets hold them. */
export interface AgentLoad {
  queued: number;
  running: number;
}

/** Loads as read at one moment of the Redis clock (ms): every load, or those changed since a read. */
export interface LoadsRead {
  at: number;
  loads: Map<string, AgentLoad>;
}

/**
 * Every agent's queued and running counts in one round trip, from the fleet's load sorted sets
 * (`keys.queuedCounts`, `keys.runningCounts`), which the task scripts keep equal to the agents'
 * task sets in the same step as they change them: exact, never lagging behind a fold. An agent
 * that is not in the map holds no task (or never held one).
 */
export async function readAgentLoads(store: Store): Promise<Map<string, AgentLoad>> {
  return (await readAgentLoadsAt(store)).loads;
}

/** `readAgentLoads`, with the Redis clock as of the read: what a later `readLoadsChangedSince` reads from. */
export async function readAgentLoadsAt(store: Store): Promise<LoadsRead> {
  const k = store.keys;
  // One transaction: both sets as of the same moment (a claim moves a task from one to the other), and that moment.
  const [time, queued, running] = replyValues(
    await store.redis.multi().time().zrange(k.queuedCounts, "0", "-1", "WITHSCORES").zrange(k.runningCounts, "0", "-1", "WITHSCORES").exec(),
    "the agents' loads",
  ) as [[string, string], string[], string[]];
  const loads = new Map<string, AgentLoad>();
  const loadOf = (id: string) => {
    let load = loads.get(id);
    if (!load) loads.set(id, (load = { queued: 0, running: 0 }));
    return load;
  };
  for (let i = 0; i + 1 < queued.length; i += 2) loadOf(queued[i]!).queued = Number(queued[i + 1]);
  for (let i = 0; i + 1 < running.length; i += 2) loadOf(running[i]!).running = Number(running[i + 1]);
  return { at: msOf(time), loads };
}

const msOf = ([seconds, micros]: [string, string]) => Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);

/**
 * The `limit` agents with the most tasks queued (at least one), most first: where a leader
 * looks for tasks to steal, in O(log agents + limit) whatever the fleet's size.
 */
export async function readBusiestAgents(store: Store, limit: number): Promise<Array<{ agentId: string; queued: number }>> {
  if (limit <= 0) return [];
  const flat = await store.redis.zrevrangebyscore(store.keys.queuedCounts, "+inf", 1, "WITHSCORES", "LIMIT", 0, limit);
  const busiest: Array<{ agentId: string; queued: number }> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) busiest.push({ agentId: flat[i]!, queued: Number(flat[i + 1]) });
  return busiest;
}

/** How many tasks each of `agentIds` runs (same order), in one round trip: O(ids · log agents), not a read of the fleet. */
export async function readRunningCounts(store: Store, agentIds: readonly string[]): Promise<number[]> {
  if (agentIds.length === 0) return [];
  const scores = await store.redis.zmscore(store.keys.runningCounts, ...agentIds);
  return scores.map((score) => Number(score ?? 0));
}

/**
 * How far before `sinceMs` the stamps are read: a Redis clock stepped back a little (NTP), or a
 * failover to a server whose clock is slightly behind, stamps changes after the earlier read with
 * times before it. Reading an agent again costs one ZMSCORE member; missing one leaves its
 * counts wrong until its next change.
 */
const CLOCK_SLACK_MS = 2000;

/**
 * The loads of the agents whose counts changed at or after `sinceMs` (Redis clock, ms; the `at`
 * of an earlier read): every change stamps its agent in `keys.loadsChanged` with the script's
 * Redis clock, in the same step (lua/includes/agentLoads.lua), so these are all of them. Stamps
 * from CLOCK_SLACK_MS before `sinceMs` on are read too (their agents read again, which costs
 * nothing wrong), for a clock stepped back by less than that.
 * Two round trips and O(log agents + agents changed), not a read of the fleet. Undefined when
 * that cannot be told: more than `limit` agents changed, or the Redis clock now stands before
 * `sinceMs` (a failover to a server whose clock is behind: changes since may carry earlier
 * stamps); the caller reads every load then.
 */
export async function readLoadsChangedSince(store: Store, sinceMs: number, limit: number): Promise<LoadsRead | undefined> {
  const k = store.keys;
  const [time, ids] = replyValues(
    await store.redis
      .multi()
      .time()
      .zrangebyscore(k.loadsChanged, sinceMs - CLOCK_SLACK_MS, "+inf", "LIMIT", 0, limit + 1)
      .exec(),
    "the agents whose loads changed",
  ) as [[string, string], string[]];
  const at = msOf(time);
  if (at < sinceMs || ids.length > limit) return undefined;
  const loads = new Map<string, AgentLoad>();
  if (ids.length === 0) return { at, loads };
  const [queued, running] = replyValues(
    await store.redis
      .multi()
      .zmscore(k.queuedCounts, ...ids)
      .zmscore(k.runningCounts, ...ids)
      .exec(),
    "the loads of the agents changed",
  ) as [Array<string | null>, Array<string | null>];
  ids.forEach((id, i) => loads.set(id, { queued: Number(queued[i] ?? 0), running: Number(running[i] ?? 0) }));
  return { at, loads };
}
