import { replyValues } from "./replies.js";
import type { Store } from "./store.js";

/** How much a namespace holds, read in one round trip. */
export interface NamespaceCounts {
  /** Tasks waiting for a live capable agent. */
  unassigned: number;
  /** Entries in the event stream and in the dead-letter stream. */
  events: number;
  deadLetters: number;
  /** Steal operations recorded. */
  steals: number;
  /** The fence counter: the latest fence ever issued (0 when none was). */
  fence: number;
}

export async function readNamespaceCounts(store: Store): Promise<NamespaceCounts> {
  const k = store.keys;
  const [unassigned, events, deadLetters, steals, fence] = replyValues(
    await store.redis.pipeline().zcard(k.unassigned).xlen(k.events).xlen(k.deadLetter).zcard(k.steals).get(k.fence).exec(),
    "the namespace's counts",
  ) as [number, number, number, number, string | null];
  return { unassigned, events, deadLetters, steals, fence: Number(fence ?? 0) };
}

/** The namespace's counters (`reconciler.*`, `maintenance.*`, `fold.*`), 0 for one never counted. */
export async function readMetrics(store: Store): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await store.redis.hgetall(store.keys.metrics)).map(([name, value]) => [name, Number(value)]));
}

/** Adds to the namespace's counters, atomically together. */
export async function incrementMetrics(store: Store, increments: Record<string, number>): Promise<void> {
  const transaction = store.redis.multi();
  for (const [name, by] of Object.entries(increments)) transaction.hincrby(store.keys.metrics, name, by);
  replyValues(await transaction.exec(), "metrics");
}

/** The average run duration per task type (ms), from the folded sums and counts. */
export async function readDurationAverages(store: Store): Promise<Record<string, number>> {
  const hash = await store.redis.hgetall(store.keys.durations);
  const averages: Record<string, number> = {};
  for (const [field, sum] of Object.entries(hash)) {
    if (!field.endsWith(":sum")) continue;
    const type = field.slice(0, -":sum".length);
    const count = Number(hash[`${type}:count`] ?? 0);
    if (count > 0) averages[type] = Number(sum) / count;
  }
  return averages;
}
