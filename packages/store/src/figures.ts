import { type Keys, TASKS_CANCELLED_FIELD } from "@worksteal/protocol";
import { type FleetTally, tallyAgents } from "./agents.js";
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
  /** Tasks cancelled (folded: one may never have had an agent), and delayed tasks not yet due (they wait for no agent). */
  cancelled: number;
  delayed: number;
}

export async function readNamespaceCounts(store: Store): Promise<NamespaceCounts> {
  const k = store.keys;
  const [unassigned, events, deadLetters, steals, fence, cancelled, delayed] = replyValues(
    await store.redis
      .pipeline()
      .zcard(k.unassigned)
      .xlen(k.events)
      .xlen(k.deadLetter)
      .zcard(k.steals)
      .get(k.fence)
      .hget(k.metrics, TASKS_CANCELLED_FIELD)
      .zcard(k.delayed)
      .exec(),
    "the namespace's counts",
  ) as [number, number, number, number, string | null, string | null, number];
  return { unassigned, events, deadLetters, steals, fence: Number(fence ?? 0), cancelled: Number(cancelled ?? 0), delayed };
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

/** Per task type: the average run duration (ms) and how many completions it rests on. */
export interface DurationStats {
  averages: Record<string, number>;
  counts: Record<string, number>;
}

/** The average run duration per task type and its count of completions, from the folded sums and counts (one HGETALL). */
export async function readDurationStats(store: Store): Promise<DurationStats> {
  const hash = await store.redis.hgetall(store.keys.durations);
  const averages: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const [field, sum] of Object.entries(hash)) {
    if (!field.endsWith(":sum")) continue;
    const type = field.slice(0, -":sum".length);
    const count = Number(hash[`${type}:count`] ?? 0);
    const average = Number(sum) / count;
    // A hand-edited or half-written hash gives no figure rather than a wrong one.
    if (Number.isInteger(count) && count > 0 && Number.isFinite(average)) {
      averages[type] = average;
      counts[type] = count;
    }
  }
  return { averages, counts };
}

/** How far folding is behind the event stream. */
export interface FoldProgress {
  /** Entries appended and not yet folded: the stream's entries-added less the fold cursor's count. */
  lag: number;
  /** The last folded entry's id; null before any replica made the cursor. */
  cursor: string | null;
  /** The id of the newest entry ever appended (XINFO STREAM's last-generated-id); null without a stream. */
  lastEntryId: string | null;
  /** Entries ever appended to the stream (entries-added). */
  appended: number;
}

/** Whether the fold cursor stands at the stream's newest entry (by id: entries deleted inside the stream do not fool it). */
export const foldCaughtUp = (progress: FoldProgress): boolean => progress.cursor !== null && progress.cursor === progress.lastEntryId;

type Pipeline = ReturnType<Store["redis"]["pipeline"]>;
/** The keys the fold's progress is read from (benches pass these alone, with a connection of their own). */
type FoldKeys = Pick<Keys, "events" | "foldCursor">;

/** Queues the two reads foldProgressOf takes, in its order: XINFO STREAM, then the cursor's id and count. */
const readsOfFoldProgress = (pipeline: Pipeline, keys: FoldKeys): Pipeline => pipeline.xinfo("STREAM", keys.events).hmget(keys.foldCursor, "id", "folded");

/** The fold's progress: XINFO STREAM and the fold cursor, in one round trip. */
export async function readFoldProgress(store: { redis: Store["redis"]; keys: FoldKeys }): Promise<FoldProgress> {
  const replies = await readsOfFoldProgress(store.redis.pipeline(), store.keys).exec();
  return foldProgressOf(replies?.[0], replies?.[1]);
}

/** The fold's progress and the fold lease's holder (null when none holds it), in one round trip. */
export async function readFoldProgressAndFolder(store: Store): Promise<{ progress: FoldProgress; folder: string | null }> {
  const replies = await readsOfFoldProgress(store.redis.pipeline(), store.keys).get(store.keys.foldLease).exec();
  const [folder] = replyValues(replies?.slice(2) ?? null, "the fold lease") as [string | null];
  return { progress: foldProgressOf(replies?.[0], replies?.[1]), folder };
}

/** From the replies of XINFO STREAM (an error when the stream does not exist yet: nothing to fold) and HMGET of the cursor's id and count. */
function foldProgressOf(stream: [Error | null, unknown] | undefined, cursorReply: [Error | null, unknown] | undefined): FoldProgress {
  const missing: [Error, null] = [new Error("no reply"), null];
  const noStream = stream?.[0] !== undefined && stream[0] !== null && /no such key/i.test(stream[0].message);
  const [info, [cursor, folded]] = replyValues([noStream ? [null, []] : (stream ?? missing), cursorReply ?? missing], "the fold's progress") as [
    unknown[],
    [string | null, string | null],
  ];
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
  const appended = Number(fields.get("entries-added") ?? 0);
  const lastEntryId = noStream ? null : String(fields.get("last-generated-id"));
  // No cursor yet: nothing was folded, and nothing trimmed (trimming needs the cursor). The cursor
  // at the newest entry is caught up whatever the counts say: entries deleted (XDEL) or trimmed by
  // hand before they were folded are never counted folded.
  const lag = folded === null ? Number(fields.get("length") ?? 0) : cursor !== null && cursor === lastEntryId ? 0 : appended - Number(folded);
  return { lag: Math.max(0, lag), cursor, lastEntryId, appended };
}

/** What one scrape of a replica's /metrics reads: a fixed number of round trips whatever the fleet's history. */
export interface ScrapeFigures {
  /** (Cancelled tasks are among the counters; delayed ones are not scraped.) */
  counts: Omit<NamespaceCounts, "cancelled" | "delayed">;
  /** The namespace's counters (see readMetrics). */
  counters: Record<string, number>;
  fold: FoldProgress;
  agents: FleetTally;
}

/**
 * The namespace's figures for a scrape: counters and stream state in one round trip, the agents
 * tallied in one more per 500 (tallyAgents), with the `busiestCount` agents holding the most tasks.
 */
export async function readScrapeFigures(store: Store, agentTtlMs: number, busiestCount: number): Promise<ScrapeFigures> {
  const k = store.keys;
  const pipeline = store.redis.pipeline().zcard(k.unassigned).xlen(k.events).xlen(k.deadLetter).zcard(k.steals).get(k.fence).hgetall(k.metrics);
  const [replies, agents] = await Promise.all([readsOfFoldProgress(pipeline, k).exec(), tallyAgents(store, agentTtlMs, busiestCount)]);
  const cursor = replies?.pop();
  const stream = replies?.pop();
  const [unassigned, events, deadLetters, steals, fence, counters] = replyValues(replies, "the namespace's figures") as [
    number,
    number,
    number,
    number,
    string | null,
    Record<string, string>,
  ];
  return {
    counts: { unassigned, events, deadLetters, steals, fence: Number(fence ?? 0) },
    counters: Object.fromEntries(Object.entries(counters).map(([name, value]) => [name, Number(value)])),
    fold: foldProgressOf(stream, cursor),
    agents,
  };
}

/** When a task was submitted and when its latest run started (Redis clock, ms). */
export interface TaskTimes {
  createdAt: number;
  /** Undefined until a run started. */
  startedAt: number | undefined;
}

/** Each task's times in one round trip; undefined for a task whose record is gone (past its retention). */
export async function readTaskTimes(store: Store, taskIds: readonly string[]): Promise<Array<TaskTimes | undefined>> {
  if (taskIds.length === 0) return [];
  const pipeline = store.redis.pipeline();
  for (const id of taskIds) pipeline.hmget(store.keys.task(id), "createdAt", "startedAt");
  const values = replyValues(await pipeline.exec(), "task times") as Array<[string | null, string | null]>;
  return values.map(([createdAt, startedAt]) =>
    createdAt === null ? undefined : { createdAt: Number(createdAt), startedAt: startedAt === null ? undefined : Number(startedAt) },
  );
}
