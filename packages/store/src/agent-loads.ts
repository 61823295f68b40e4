import { compareStreamIds } from "@worksteal/protocol";
import { replyValues } from "./replies.js";
import type { Store } from "./store.js";

/** Tasks queued on an agent and tasks it runs, exactly as its task sets hold them. */
export interface AgentLoad {
  queued: number;
  running: number;
}

/**
 * Every agent's queued and running counts in one round trip, from the fleet's load sorted sets
 * (`keys.queuedCounts`, `keys.runningCounts`), which the task scripts keep equal to the agents'
 * task sets in the same step as they change them: exact, never lagging behind a fold. An agent
 * that is not in the map holds no task (or never held one).
 */
export async function readAgentLoads(store: Store): Promise<Map<string, AgentLoad>> {
  const k = store.keys;
  // One transaction: both sets as of the same moment (a claim moves a task from one to the other).
  const [queued, running] = replyValues(
    await store.redis.multi().zrange(k.queuedCounts, "0", "-1", "WITHSCORES").zrange(k.runningCounts, "0", "-1", "WITHSCORES").exec(),
    "the agents' loads",
  ) as [string[], string[]];
  const loads = new Map<string, AgentLoad>();
  const loadOf = (id: string) => {
    let load = loads.get(id);
    if (!load) loads.set(id, (load = { queued: 0, running: 0 }));
    return load;
  };
  for (let i = 0; i + 1 < queued.length; i += 2) loadOf(queued[i]!).queued = Number(queued[i + 1]);
  for (let i = 0; i + 1 < running.length; i += 2) loadOf(running[i]!).running = Number(running[i + 1]);
  return loads;
}

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

/** An agent an event names, as the field that changes its load (agent ids are letters, digits, '_', '.' and '-'). */
const NAMED_AGENT = /"(?:agentId|from|to)"\s*:\s*"([A-Za-z0-9_.-]+)"/g;

/**
 * The loads of the agents whose counts may have changed since the event `afterId`: every task
 * script that changes a count appends, in the same step, an event naming the agent (agentId,
 * or from and to), so the agents the entries after it name are all of them. Two round trips and
 * O(entries + agents named), not a read of the fleet. Undefined when that cannot be told: more
 * than `limit` entries since, no `afterId` (the stream was empty), or entries after it that may
 * have been trimmed away (the oldest entry left is newer): the caller reads every load then.
 */
export async function readLoadsChangedAfter(store: Store, afterId: string, limit: number): Promise<Map<string, AgentLoad> | undefined> {
  if (afterId === "") return undefined;
  const k = store.keys;
  const [oldest, entries] = replyValues(
    await store.redis
      .multi()
      .xrange(k.events, "-", "+", "COUNT", 1)
      .xrange(k.events, `(${afterId}`, "+", "COUNT", limit + 1)
      .exec(),
    "the events since the loads were read",
  ) as [Array<[string, string[]]>, Array<[string, string[]]>];
  const oldestId = oldest[0]?.[0];
  if (entries.length > limit || (oldestId !== undefined && compareStreamIds(oldestId, afterId) > 0)) return undefined;
  const named = new Set<string>();
  for (const [, fields] of entries) {
    for (const field of fields) for (const match of field.matchAll(NAMED_AGENT)) named.add(match[1]!);
  }
  const ids = [...named];
  const loads = new Map<string, AgentLoad>();
  if (ids.length === 0) return loads;
  const [queued, running] = replyValues(
    await store.redis
      .multi()
      .zmscore(k.queuedCounts, ...ids)
      .zmscore(k.runningCounts, ...ids)
      .exec(),
    "the loads of the agents named",
  ) as [Array<string | null>, Array<string | null>];
  ids.forEach((id, i) => loads.set(id, { queued: Number(queued[i] ?? 0), running: Number(running[i] ?? 0) }));
  return loads;
}
