import { Redis } from "ioredis";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { TaskSpecSchema } from "@worksteal/protocol";
import { appendEvent, Store } from "@worksteal/store";
import { testNamespace } from "@worksteal/testkit";
import { EventFolder, FAST_CALLS_PER_RUN, foldTimingOf, isFoldRefusal } from "./event-folder.js";
import { ReplicaMetrics } from "./metrics.js";

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

/** A namespace of its own with agent a1 registered. */
async function withAgent(name: string): Promise<Store> {
  const store = new Store(redis, testNamespace(name));
  await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
  return store;
}

/** `count` tasks on a1 run to completion by the real scripts: one task event each, its completion. */
async function completedTasks(store: Store, count: number, from = 0): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const id = `t${i}`;
    await store.submit(TaskSpecSchema.parse({ id, type: "render" }), "a1");
    await store.claim(id, "a1", 1);
    await store.finish(id, "a1", 1, "completed", "null");
  }
}

describe("EventFolder.foldNew", () => {
  it("folds a backlog in runs of pipelined batches, the task events inside Redis and the registration the slow way; once a call returns a partial batch, every event is folded once", async () => {
    const store = await withAgent("event-folder-backlog");
    const metrics = new ReplicaMetrics();
    const folder = new EventFolder(store, blocking, { replicaId: "r1", batchSize: BATCH, leaseMs: 60_000, metrics }, pino({ level: "silent" }));
    await folder.ensureCursor();
    // Entries the slow path folded (fold-4.lua), counted.
    let foldedSlowly = 0;
    const fold = store.fold.bind(store);
    store.fold = async (entries, after) => {
      foldedSlowly += entries.length;
      return fold(entries, after);
    };
    // The registration and 210 task events: 211 entries.
    await completedTasks(store, 210);
    const calls: string[] = [];
    const foldOwn = store.foldOwn.bind(store);
    store.foldOwn = (after, count) => {
      calls.push(after);
      return foldOwn(after, count);
    };
    const reads: number[] = [];
    for (;;) {
      const read = await folder.foldNew(10);
      reads.push(read);
      if (read < BATCH) break;
    }
    // The registration (slow), then a run of full fast batches as long as a run goes, then the
    // rest: full batches, a partial one, and the call pipelined behind it (nothing left).
    expect(reads).toEqual([1 + FAST_CALLS_PER_RUN * BATCH, 210 - FAST_CALLS_PER_RUN * BATCH, 0]);
    // Each run's first call compares the cursor; those pipelined behind it fold from wherever it stands.
    expect(calls.slice(0, 3).map((after) => after !== "")).toEqual([true, true, false]);
    expect(calls.filter((after) => after === "")).toHaveLength(FAST_CALLS_PER_RUN - 1 + 6);
    expect(foldedSlowly).toBe(1);
    expect(await store.foldCursor()).toMatchObject({ folded: 211 });
    expect(await redis.hget(store.keys.workload("a1"), "done")).toBe("210");
    expect(await redis.hget(store.keys.durations, "render:count")).toBe("210");
    expect(await redis.xlen(store.keys.deadLetter)).toBe(0);
    // The replica's own figures, from every fast call's reply, pipelined or not: 210 waits (each on its task's completion), 210 runs, 211 events.
    const text = await metrics.registry.metrics();
    expect(text).toContain("worksteal_task_wait_seconds_count 210");
    expect(text).toContain('worksteal_task_run_seconds_count{type="render",outcome="completed"} 210');
    expect(text).toContain('worksteal_tasks_done_total{type="render"} 210');
    expect(text).toContain("worksteal_events_folded_total 211");
  });

  it("ends a run of pipelined calls when the lease is due for extension, which the next call then extends", async () => {
    const store = await withAgent("event-folder-lease-due");
    const folder = folderOf(store, "r1", 60_000);
    await folder.ensureCursor();
    await completedTasks(store, 20);
    const calls: string[] = [];
    const foldOwn = store.foldOwn.bind(store);
    store.foldOwn = (after, count) => {
      calls.push(after);
      return foldOwn(after, count);
    };
    // A third of the lease passes between any two readings of the clock.
    let now = 0;
    const clock = vi.spyOn(performance, "now").mockImplementation(() => (now += 20_000));
    try {
      expect(await folder.foldNew(10)).toBe(1 + BATCH);
      expect(await folder.foldNew(10)).toBe(BATCH);
    } finally {
      clock.mockRestore();
    }
    expect(calls.every((after) => after !== "")).toBe(true);
    expect(await redis.get(store.keys.foldLease)).toBe("r1");
  });

  it("caught up, waits for the next entry and folds it in the same call", async () => {
    const store = await withAgent("event-folder-wake");
    const folder = folderOf(store, "r1", 60_000);
    await folder.ensureCursor();
    await foldAll(folder);
    const folding = folder.foldNew(5_000);
    // The folder blocks on its own connection: a run completed from this one wakes it.
    await completedTasks(store, 1);
    expect(await folding).toBe(1);
    expect(await store.foldCursor()).toMatchObject({ folded: 2 });
  });

  it("folds an agent event and a forged task event the slow way between task events, dead-lettering the forged one", async () => {
    const store = await withAgent("event-folder-mixed");
    const folder = folderOf(store, "r1", 60_000);
    await folder.ensureCursor();
    await completedTasks(store, 2);
    await appendEvent(store, { kind: "agent:duration", agentId: "a1", taskType: "render", durationMs: 40, at: Date.now() });
    const forged = { kind: "task:completed", taskId: "t0", agentId: "a1", taskType: "render", epoch: 1, durationMs: 5, at: Date.now() };
    await redis.xadd(store.keys.events, "*", "event", JSON.stringify(forged));
    await completedTasks(store, 1, 2);
    await foldAll(folder);
    expect(await store.foldCursor()).toMatchObject({ folded: 6 });
    expect(await redis.hmget(store.keys.workload("a1"), "done", "durationCount")).toEqual(["3", "4"]);
    const dead = await redis.xrange(store.keys.deadLetter, "-", "+");
    expect(dead).toHaveLength(1);
    expect(dead[0]![1]).toContain("no task script wrote this event for task t0 (forged, replayed, or its record expired)");
  });

  it("logs what one call dead-letters in a few lines, however many slow runs it came in", async () => {
    const store = await withAgent("event-folder-dead-log");
    const lines: Array<{ msg: string; deadLettered?: number; invalid?: number }> = [];
    const log = pino({ level: "warn" }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
    const folder = new EventFolder(store, blocking, { replicaId: "r1", batchSize: 100, leaseMs: 60_000 }, log);
    await folder.ensureCursor();
    // Each bad entry is followed by 9 task events in a row: each is a slow run of its own.
    for (let i = 0; i < 8; i++) {
      await store.redis.xadd(store.keys.events, "*", "event", "not json");
      await completedTasks(store, 9, 9 * i);
    }
    // The registration, and 8 × 10: one call folds them all.
    expect(await folder.foldNew(10)).toBe(81);
    expect(await redis.xlen(store.keys.deadLetter)).toBe(8);
    expect(lines.filter((l) => l.msg === "event dead-lettered")).toHaveLength(5);
    expect(lines.filter((l) => l.msg === "events dead-lettered")).toEqual([expect.objectContaining({ deadLettered: 8, invalid: 8 })]);
  });

  it("two folders that both believe they hold the lease, folding the same backlog at once, apply every event once", async () => {
    const store = await withAgent("event-folder-race");
    // The same replica id: the lease lets both fold, and only the cursor (read and moved in one step by each call) keeps them apart.
    const [one, two] = [folderOf(store, "twin", 60_000), folderOf(store, "twin", 60_000, otherBlocking)];
    await one.ensureCursor();
    await completedTasks(store, 120);
    await Promise.all([foldAll(one), foldAll(two)]);
    await foldAll(one);
    expect(await store.foldCursor()).toMatchObject({ folded: 121 });
    await expectFoldedOnce(store, 120);
  });

  it("a folder that stops mid-backlog without giving the lease up is replaced once its lease lapses; the replacement folds the rest once", async () => {
    const store = await withAgent("event-folder-takeover");
    const dead = folderOf(store, "dead", 300);
    await dead.ensureCursor();
    await completedTasks(store, 360);
    // Two runs folded (the first with the registration): then the folder is never called again.
    expect(await dead.foldNew(10)).toBe(1 + FAST_CALLS_PER_RUN * BATCH);
    expect(await dead.foldNew(10)).toBe(FAST_CALLS_PER_RUN * BATCH);
    const next = folderOf(store, "next", 300);
    // Refused while the dead folder's lease lasts (each refusal waits a little for it).
    expect(await next.foldNew(10)).toBe(0);
    expect(await redis.get(store.keys.foldLease)).toBe("dead");
    while ((await redis.get(store.keys.foldLease)) === "dead") await next.foldNew(10);
    await foldAll(next);
    expect(await redis.get(store.keys.foldLease)).toBe("next");
    await expectFoldedOnce(store, 360);
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
