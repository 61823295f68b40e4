import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { FOLD_GROUP, TaskSpecSchema } from "@worksteal/protocol";
import { Store } from "@worksteal/store";
import { testNamespace } from "@worksteal/testkit";
import { EventFolder } from "./event-folder.js";

let redis: Redis;
let blocking: Redis;
beforeAll(() => {
  redis = new Redis(inject("redisUrl"));
  blocking = new Redis(inject("redisUrl"));
});
afterAll(async () => {
  await Promise.all([redis.quit(), blocking.quit()]);
});

const BATCH = 10;

/** `count` tasks on a1 run to completion by the real scripts: three task events each. */
async function completedTasks(store: Store, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const id = `t${i}`;
    await store.submit(TaskSpecSchema.parse({ id, type: "render" }), "a1");
    await store.claim(id, "a1", 1);
    await store.finish(id, "a1", 1, "completed", "null");
  }
}

describe("EventFolder.foldNew", () => {
  it("folds a backlog batch by batch, leaving a fold in flight while the next batch is read; once a call returns a partial batch, every event is folded once", async () => {
    const store = new Store(redis, testNamespace("event-folder-backlog"));
    await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    const folder = new EventFolder(store, blocking, { consumer: "c1", batchSize: BATCH, claimIdleMs: 60_000 }, pino({ level: "silent" }));
    await folder.ensureGroup();
    // The registration and 3 × 33 task events: 100 entries, ten full batches and then an empty read.
    await completedTasks(store, 33);
    const reads: number[] = [];
    for (;;) {
      const read = await folder.foldNew(10);
      reads.push(read);
      if (read < BATCH) break;
    }
    expect(reads).toEqual([...Array<number>(10).fill(BATCH), 0]);
    // Nothing is left to the background: the last full batch's fold was awaited by the call that read nothing.
    const [group] = (await redis.xinfo("GROUPS", store.keys.events)) as Array<Array<string | number>>;
    expect(group![group!.indexOf("name") + 1]).toBe(FOLD_GROUP);
    expect(group![group!.indexOf("pending") + 1]).toBe(0);
    expect(await redis.hget(store.keys.workload("a1"), "done")).toBe("33");
    expect(await redis.hget(store.keys.durations, "render:count")).toBe("33");
    expect(await redis.xlen(store.keys.deadLetter)).toBe(0);
  });
});
