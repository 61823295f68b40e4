import { Redis } from "ioredis";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { TaskSpecSchema } from "@worksteal/protocol";
import { Store } from "@worksteal/store";
import { testNamespace } from "@worksteal/testkit";
import { EventFolder, foldTimingOf, isFoldRefusal } from "./event-folder.js";

const redis = sharedRedis();
const blocking = sharedRedis();
/** A second blocking connection, for a second folder. */
const otherBlocking = sharedRedis();

const BATCH = 10;

function folderOf(store: Store, replicaId: string, leaseMs: number, blockingConnection: Redis = blocking): EventFolder {
  return new EventFolder(store, blockingConnection, { replicaId, batchSize: BATCH, leaseMs }, pino({ level: "silent" }));
}

/** Folds until a call reads less than a batch. */
async function foldAll(folder: EventFolder): Promise<void> {
  while ((await folder.foldNew(10)) >= BATCH);
}

async function expectFoldedOnce(store: Store, tasks: number): Promise<void> {
  expect(await redis.hget(store.keys.workload("a1"), "done")).toBe(String(tasks));
  expect(await redis.hget(store.keys.durations, "render:count")).toBe(String(tasks));
  expect(await redis.xlen(store.keys.deadLetter)).toBe(0);
}

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
    const folder = folderOf(store, "r1", 60_000);
    await folder.ensureCursor();
    // Each fold call counted while its reply is awaited.
    let foldsInFlight = 0;
    const fold = store.fold.bind(store);
    store.fold = async (...args) => {
      foldsInFlight += 1;
      try {
        return await fold(...args);
      } finally {
        foldsInFlight -= 1;
      }
    };
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
    expect(foldsInFlight).toBe(0);
    expect(await store.foldCursor()).toMatchObject({ folded: 100 });
    expect(await redis.hget(store.keys.workload("a1"), "done")).toBe("33");
    expect(await redis.hget(store.keys.durations, "render:count")).toBe("33");
    expect(await redis.xlen(store.keys.deadLetter)).toBe(0);
  });

  it("two folders that both believe they hold the lease, folding the same backlog at once, apply every event once", async () => {
    const store = new Store(redis, testNamespace("event-folder-race"));
    await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    // The same replica id: the lease lets both fold, and only the cursor's compare-and-set keeps them apart.
    const [one, two] = [folderOf(store, "twin", 60_000), folderOf(store, "twin", 60_000, otherBlocking)];
    await one.ensureCursor();
    await completedTasks(store, 40);
    await Promise.all([foldAll(one), foldAll(two)]);
    await foldAll(one);
    expect(await store.foldCursor()).toMatchObject({ folded: 121 });
    await expectFoldedOnce(store, 40);
  });

  it("a folder that stops mid-backlog without giving the lease up is replaced once its lease lapses; the replacement folds the rest once", async () => {
    const store = new Store(redis, testNamespace("event-folder-takeover"));
    await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    const dead = folderOf(store, "dead", 300);
    await dead.ensureCursor();
    await completedTasks(store, 20);
    // Two full batches read, the second's fold left in flight: then the folder is never called again.
    expect(await dead.foldNew(10)).toBe(BATCH);
    expect(await dead.foldNew(10)).toBe(BATCH);
    const next = folderOf(store, "next", 300);
    // Refused while the dead folder's lease lasts (each refusal waits a little for it).
    expect(await next.foldNew(10)).toBe(0);
    expect(await redis.get(store.keys.foldLease)).toBe("dead");
    while ((await redis.get(store.keys.foldLease)) === "dead") await next.foldNew(10);
    await foldAll(next);
    expect(await redis.get(store.keys.foldLease)).toBe("next");
    await expectFoldedOnce(store, 20);
    // A folder stopping gives the lease up: the next one folds at once.
    await next.release();
    expect(await redis.get(store.keys.foldLease)).toBeNull();
  });
});

describe("isFoldRefusal", () => {
  /** An error reply as ioredis gives it. */
  const replyError = (message: string) => Object.assign(new Error(message), { name: "ReplyError" });
  /** The reply Redis (7.0) gives when a script's redis.call fails: the command's own error code, then the script's position. */
  const scriptCallError = (message: string) => replyError(`${message} script: 0a9f75e991483d02789696e4c90d26c10395863e, on @user_script:166.`);

  it("takes the fold script's own refusal of a batch as one, splitting it", async () => {
    const refusal = await redis.eval("error('fold: ARGV[12] is not a number')", 0).catch((error: unknown) => error);
    expect(isFoldRefusal(refusal)).toBe(true);
  });

  it("passes errors a redis.call inside the script raises, and other failures, to retry the batch whole", async () => {
    expect(isFoldRefusal(scriptCallError("OOM command not allowed when used memory > 'maxmemory'."))).toBe(false);
    expect(isFoldRefusal(scriptCallError("READONLY You can't write against a read only replica."))).toBe(false);
    const key = `${testNamespace()}:string`;
    await redis.set(key, "x");
    const inScript = await redis.eval("return redis.call('HSET', KEYS[1], 'a', 'b')", 1, key).catch((error: unknown) => error);
    expect((inScript as Error).message).toMatch(/^WRONGTYPE .*@user_script/);
    expect(isFoldRefusal(inScript)).toBe(false);
    expect(isFoldRefusal(replyError("BUSY Redis is busy running a script."))).toBe(false);
    expect(isFoldRefusal(new Error("Connection is closed."))).toBe(false);
  });
});

describe("foldTimingOf", () => {
  it("fits a read and a pause three times in the lease, up to 500 ms and 100 ms", () => {
    expect(foldTimingOf(3000)).toEqual({ blockMs: 500, coalesceMs: 100 });
    for (const leaseMs of [150, 200, 300, 1000, 1800, 60_000]) {
      const { blockMs, coalesceMs } = foldTimingOf(leaseMs);
      expect(blockMs).toBeGreaterThanOrEqual(1);
      expect(3 * (blockMs + coalesceMs)).toBeLessThanOrEqual(leaseMs);
    }
  });
});
