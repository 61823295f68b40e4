import { encodeEvent, FOLD_GROUP, type WorkstealEvent } from "@worksteal/protocol";
import type { RedisConnection } from "./connection.js";
import type { Store } from "./store.js";

/** An entry as read: fields as bytes, so that invalid UTF-8 is seen as it is (null once trimmed away). */
export type StreamEntry = [id: string | Buffer, fields: Array<string | Buffer> | null];

/**
 * Appends an event that no script writes (the compatibility facade's agent metrics and
 * durations): the caller has validated it. Returns the entry id.
 */
export async function appendEvent(store: Store, event: WorkstealEvent): Promise<string> {
  return (await store.redis.xadd(store.keys.events, "*", ...encodeEvent(event)))!;
}

/** Creates the folding consumer group, from the start of the stream (a new deployment folds every event ever appended); idempotent. */
export async function ensureFoldGroup(store: Store): Promise<void> {
  try {
    await store.redis.xgroup("CREATE", store.keys.events, FOLD_GROUP, "0", "MKSTREAM");
  } catch (error) {
    if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
  }
}

/**
 * Reads up to `count` new entries as `consumer` of the folding group, waiting up to `blockMs`
 * for them, on `blocking` (a connection of its own: XREADGROUP blocks it). Undefined when the
 * group is missing (deleted by hand): the caller creates it again.
 */
export async function readNewEntries(
  store: Store,
  blocking: RedisConnection,
  consumer: string,
  count: number,
  blockMs: number,
): Promise<StreamEntry[] | undefined> {
  try {
    const reply = (await blocking.xreadgroupBuffer(
      "GROUP",
      FOLD_GROUP,
      consumer,
      "COUNT",
      count,
      "BLOCK",
      blockMs,
      "STREAMS",
      store.keys.events,
      ">",
    )) as Array<[string, StreamEntry[]]> | null;
    return reply?.[0]?.[1] ?? [];
  } catch (error) {
    if (String((error as Error).message).includes("NOGROUP")) return undefined;
    throw error;
  }
}

/**
 * One XAUTOCLAIM page for `consumer`: entries of the folding group pending longer than
 * `idleMs`, from `cursor`; returns them and the next cursor ("0-0" at the end). Entries deleted
 * from the stream while pending can never be folded: they are acknowledged away here.
 */
export async function claimIdleEntries(
  store: Store,
  consumer: string,
  idleMs: number,
  cursor: string,
  count: number,
): Promise<{ next: string; entries: StreamEntry[] }> {
  const k = store.keys;
  const [next, entries, deleted] = (await store.redis.callBuffer("XAUTOCLAIM", k.events, FOLD_GROUP, consumer, idleMs, cursor, "COUNT", count)) as [
    Buffer,
    StreamEntry[],
    Buffer[],
  ];
  if (deleted && deleted.length > 0) await store.redis.xack(k.events, FOLD_GROUP, ...deleted);
  return { next: next.toString(), entries };
}

/**
 * Entries appended after `afterId` (outside any consumer group: nothing is acknowledged), at most
 * `count`, waiting up to `blockMs` for the first; empty when none came. On a connection of its
 * own: XREAD BLOCK holds it.
 */
export async function readEntriesAfter(
  store: Store,
  blocking: RedisConnection,
  afterId: string,
  count: number,
  blockMs: number,
): Promise<Array<[id: string, fields: string[]]>> {
  const reply = await blocking.xread("COUNT", count, "BLOCK", blockMs, "STREAMS", store.keys.events, afterId);
  return reply?.[0]?.[1] ?? [];
}
