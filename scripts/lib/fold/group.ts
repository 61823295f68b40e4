/** Whether the coordinators' consumer group has caught up with the event stream, read from XINFO. */
import type { Redis } from "ioredis";
import { FOLD_GROUP } from "@worksteal/protocol";

function fieldsOf(flat: unknown[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = flat[i + 1];
  return fields;
}

/**
 * Every entry of `events` has been read by the group and acknowledged. A lag of 0 says so at
 * once; otherwise the group's last delivered id is compared with the stream's last id, because
 * after a deletion inside the stream Redis answers the lag as null, or (7.0, once the group has
 * read past the deleted entry) as the count of deleted entries.
 */
export async function foldCaughtUp(redis: Redis, events: string): Promise<boolean> {
  const groups = (await redis.xinfo("GROUPS", events)) as unknown[][];
  const group = groups.map(fieldsOf).find((g) => g.name === FOLD_GROUP);
  if (!group || group.pending !== 0) return false;
  if (group.lag === 0) return true;
  const stream = fieldsOf((await redis.xinfo("STREAM", events)) as unknown[]);
  return group["last-delivered-id"] === stream["last-generated-id"];
}
