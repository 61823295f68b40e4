/** Whether the coordinators have folded the whole event stream, read from the fold cursor and XINFO. */
import type { Redis } from "ioredis";

/** The fold cursor stands at the stream's last entry (compared by id: deletions inside the stream do not fool it). */
export async function foldCaughtUp(redis: Redis, keys: { events: string; foldCursor: string }): Promise<boolean> {
  const [cursor, stream] = await Promise.all([redis.hget(keys.foldCursor, "id"), redis.xinfo("STREAM", keys.events) as Promise<unknown[]>]);
  const last = stream[stream.indexOf("last-generated-id") + 1];
  return cursor !== null && cursor === last;
}
