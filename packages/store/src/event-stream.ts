import { encodeEvent, type WorkstealEvent } from "@worksteal/protocol";
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

/**
 * Up to `count` entries after `afterId` (the fold cursor), waiting up to `blockMs` for the first;
 * empty when none came. Fields as bytes, so that invalid UTF-8 is seen as it is. On a connection
 * of its own: XREAD BLOCK holds it.
 */
export async function readFoldBatch(store: Store, blocking: RedisConnection, afterId: string, count: number, blockMs: number): Promise<StreamEntry[]> {
  const reply = (await blocking.xreadBuffer("COUNT", count, "BLOCK", blockMs, "STREAMS", store.keys.events, afterId)) as Array<[Buffer, StreamEntry[]]> | null;
  return reply?.[0]?.[1] ?? [];
}

/**
 * Entries appended after `afterId` (as strings, for the leader's steal trigger), at most `count`,
 * waiting up to `blockMs` for the first; empty when none came. On a connection of its own: XREAD
 * BLOCK holds it.
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
