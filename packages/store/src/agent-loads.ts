import { performance } from "node:perf_hooks";
import { replyValues } from "./replies.js";
import type { Store } from "./store.js";

/** Tasks queued on an agent and tasks it runs, exactly as its task sets hold them. */
export interface AgentLoad {
  queued: number;
  running: number;
}

/**
 * When a read of the loads was made: the Redis clock as of it (ms, `TIME` in its transaction),
 * and the local monotonic clock (`performance.now()`, ms) just before it was sent, so before
 * that `TIME` was taken. The next `readLoadsChangedSince` tells from both whether the Redis clock
 * stepped back since.
 */
export interface LoadsReadTime {
  at: number;
  sentAt: number;
}

/** Loads as read at one moment: every load, or those changed since a read. */
export interface LoadsRead extends LoadsReadTime {
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
  const sentAt = performance.now();
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
  return { at: msOf(time), sentAt, loads };
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
 * How far before the last read's clock the stamps are read. A Redis clock stepped back between
 * two reads stamps changes after the first with times before it; a step back of at most this is
 * covered by reading from earlier, a larger one is detected and has the stamps read again from
 * as far back as it may reach (see `readLoadsChangedSince`). Not 0, since then every little step back (NTP slewing aside) would
 * cost a full read; not seconds, since every agent changed that long before a read is read again
 * the next round and counts against its limit (10,000 agents changing each every 10 s put 2,000
 * in 2 s). A reply that waits behind a busy event loop (a plan over a large fleet, a GC pause)
 * looks like a step back as long as its wait: one shorter than 250 ms costs no second read.
 */
const STEP_BACK_SLACK_MS = 250;

/**
 * How far the elapsed local time may understate the Redis clock's: `TIME` is cut to whole ms
 * (1 ms on each of two reads), `performance.now()` may be coarsened, and two clocks' rates
 * differ (1e-4 is 100 ppm: drift; a clock NTP slews, up to 500 ppm, fits in the slack between
 * rounds seconds apart).
 */
const clockToleranceMs = (elapsedMs: number) => 5 + 1e-4 * elapsedMs;

/**
 * The loads of the agents whose counts changed since the read `since` (one of these or
 * `readAgentLoadsAt`): every change stamps its agent in `keys.loadsChanged` with the script's
 * Redis clock, in the same step (lua/includes/agentLoads.lua), so these are all of them. Stamps
 * from STEP_BACK_SLACK_MS before `since.at` on are read (their agents read again, which costs
 * nothing wrong), for a clock stepped back by less than that.
 * A larger step back is told from the local monotonic clock: each read's `TIME` is taken between
 * its send and its reply, so the real time between `since`'s and this one's is at most the local
 * time from `since.sentAt` to this one's reply; a clock stepped back by d moves `at - since.at`
 * that much less than the real time, so d is at most that local time less `at - since.at`.
 * When that bound passes STEP_BACK_SLACK_MS (a real step back, or only a reply that waited: a
 * busy event loop, a slow Redis), the stamps are read again from that much before `since.at`, in
 * one more round trip, rather than every load.
 * Two or three round trips and O(log agents + agents changed), not a read of the fleet.
 * Undefined when which agents changed cannot be told: more than `limit` of them, or the Redis
 * clock now before `since.at` (a failover to a server whose clock is behind: changes since may
 * carry earlier stamps); the caller reads every load then.
 */
export async function readLoadsChangedSince(store: Store, since: LoadsReadTime, limit: number): Promise<LoadsRead | undefined> {
  const k = store.keys;
  const sentAt = performance.now();
  const [time, firstIds] = replyValues(
    await store.redis
      .multi()
      .time()
      .zrangebyscore(k.loadsChanged, since.at - STEP_BACK_SLACK_MS, "+inf", "LIMIT", 0, limit + 1)
      .exec(),
    "the agents whose loads changed",
  ) as [[string, string], string[]];
  let ids = firstIds;
  const localElapsedMax = performance.now() - since.sentAt;
  const at = msOf(time);
  if (at < since.at) return undefined;
  // How far back the Redis clock may have stepped since `since`'s TIME: stamps are read from that
  // far before it, again if the read above did not reach so far.
  const lookBackMs = localElapsedMax - (at - since.at) + clockToleranceMs(localElapsedMax);
  if (lookBackMs > STEP_BACK_SLACK_MS) {
    ids = await store.redis.zrangebyscore(k.loadsChanged, since.at - lookBackMs, "+inf", "LIMIT", 0, limit + 1);
  }
  if (ids.length > limit) return undefined;
  const loads = new Map<string, AgentLoad>();
  if (ids.length === 0) return { at, sentAt, loads };
  const [queued, running] = replyValues(
    await store.redis
      .multi()
      .zmscore(k.queuedCounts, ...ids)
      .zmscore(k.runningCounts, ...ids)
      .exec(),
    "the loads of the agents changed",
  ) as [Array<string | null>, Array<string | null>];
  ids.forEach((id, i) => loads.set(id, { queued: Number(queued[i] ?? 0), running: Number(running[i] ?? 0) }));
  return { at, sentAt, loads };
}
