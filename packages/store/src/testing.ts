import { parseEventEntry } from "@worksteal/protocol";
import type { Redis } from "ioredis";
import type { Store } from "./store.js";

/**
 * What the task path left in Redis for agent `a` of a namespace, without times (tests that run
 * the same calls alone and batched, in two namespaces at different moments, compare these): the
 * named tasks' records, the task events in order, agent a's queued and running sets and load counts,
 * and whether each of `expiring` has a time to live. Test support only (not built into dist).
 */
export async function taskPathState(redis: Redis, store: Store, taskIds: readonly string[], expiring: readonly string[] = []) {
  const records = [];
  for (const id of taskIds) {
    const record = await store.getTask(id);
    records.push({ id, state: record?.state, attempts: record?.attempts, error: record?.error, result: record?.result });
  }
  const events = (await redis.xrange(store.keys.events, "-", "+")).flatMap(([, fields]) => {
    const parsed = parseEventEntry(fields);
    return parsed.ok && "taskId" in parsed.event ? [`${parsed.event.kind} ${parsed.event.taskId}`] : [];
  });
  return {
    records,
    events,
    queued: (await redis.smembers(store.keys.queuedOf("a"))).sort(),
    running: (await redis.smembers(store.keys.runningOf("a"))).sort(),
    loads: [await redis.zscore(`${store.keys.prefix}loads:queued`, "a"), await redis.zscore(`${store.keys.prefix}loads:running`, "a")],
    ttls: await Promise.all(expiring.map(async (id) => (await redis.pttl(store.keys.task(id))) > 0)),
  };
}
