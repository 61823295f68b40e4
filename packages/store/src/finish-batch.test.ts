import { TaskSpecSchema } from "@worksteal/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { testNamespace } from "@worksteal/testkit";
import { closeRedis, createRedis, type RedisConnection } from "./connection.js";
import { StaleTaskError, StoreError } from "./errors.js";
import { FinishBatcher } from "./finish-batch.js";
import { scriptRunner } from "./scripts.js";
import { type FinishResult, type RunOutcome, Store } from "./store.js";
import { taskPathState } from "./testing.js";
import { cancelTask } from "./task-control.js";

const redis = sharedRedis();
const opened: RedisConnection[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => closeRedis(r)));
});

const spec = (id: string, maxAttempts = 2) => TaskSpecSchema.parse({ id, type: "resize", payload: { id }, maxAttempts });

/** Agent a (concurrency 10) runs c1, c2, f1, r1, last (its last attempt), cancelling (a cancel asked); old runs at epoch 1 only; queued is not started. */
async function fleetWithEveryCase(name: string): Promise<Store> {
  const store = new Store(redis, testNamespace(name));
  await store.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
  for (const id of ["c1", "c2", "f1", "r1", "cancelling", "old", "queued"]) await store.submit(spec(id), "a");
  await store.submit(spec("last", 1), "a");
  for (const id of ["c1", "c2", "f1", "r1", "last", "cancelling", "old"]) await store.claim(id, "a", 1);
  expect(await cancelTask(store, "cancelling", 60_000)).toBe("cancelling");
  return store;
}

const RUNS: Array<{ taskId: string; epoch: number; outcome: RunOutcome; detail: string; retryDelayMs?: number }> = [
  { taskId: "c1", epoch: 1, outcome: "completed", detail: '{"n":1}' },
  { taskId: "f1", epoch: 1, outcome: "failed", detail: "boom" },
  { taskId: "r1", epoch: 1, outcome: "retry", detail: "again", retryDelayMs: 5_000 },
  { taskId: "last", epoch: 1, outcome: "retry", detail: "no attempt left" },
  { taskId: "cancelling", epoch: 1, outcome: "completed", detail: "null" },
  { taskId: "old", epoch: 2, outcome: "completed", detail: "null" },
  { taskId: "queued", epoch: 1, outcome: "completed", detail: "null" },
  { taskId: "missing", epoch: 1, outcome: "completed", detail: "null" },
  { taskId: "c1", epoch: 1, outcome: "completed", detail: "null" },
  { taskId: "c2", epoch: 1, outcome: "completed", detail: '"ünïcode"' },
];

/** What a finish answered, without the run's duration and the error's message. */
const outcome = (answer: FinishResult | Error) => (answer instanceof Error ? answer.constructor.name : { final: answer.final, state: answer.state });

const stateOf = (store: Store) => taskPathState(redis, store, ["c1", "c2", "f1", "r1", "last", "cancelling", "old", "queued"], ["c1", "r1"]);

describe("finishMany", () => {
  it("answers each run of a mixed batch as finish answers it alone, and leaves the same records, loads and events", async () => {
    const alone = await fleetWithEveryCase("finish-alone");
    const batched = await fleetWithEveryCase("finish-batched");
    const aloneAnswers: Array<FinishResult | StoreError> = [];
    for (const run of RUNS)
      aloneAnswers.push(await alone.finish(run.taskId, "a", run.epoch, run.outcome, run.detail, 60_000, run.retryDelayMs).catch((error: StoreError) => error));

    const batchedAnswers = await batched.finishMany("a", RUNS, 60_000);

    expect(batchedAnswers.map(outcome)).toEqual(aloneAnswers.map(outcome));
    expect(batchedAnswers.map(outcome)).toEqual([
      { final: true, state: "done" },
      { final: true, state: "failed" },
      { final: false, state: "queued" },
      { final: true, state: "failed" },
      { final: true, state: "cancelled" },
      "StaleTaskError",
      "TaskNotRunningError",
      "TaskNotFoundError",
      "TaskNotRunningError",
      { final: true, state: "done" },
    ]);
    expect(await stateOf(batched)).toEqual(await stateOf(alone));
    expect((await batched.getTask("c2"))?.result).toBe("ünïcode");
  });

  it("rejects arguments that are not groups of five, finishing nothing", async () => {
    const store = new Store(redis, testNamespace("finish-many-hostile"));
    await store.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
    await store.submit(spec("h1"), "a");
    await store.claim("h1", "a", 1);
    const run = scriptRunner(redis);
    const keys = [store.keys.events, store.keys.queuedOf("a"), store.keys.runningOf("a")];

    await expect(run("finishMany", keys, ["a", 60_000, "h1", 1, "completed", "null"])).rejects.toThrow(/groups of task id/);
    await expect(run("finishMany", keys, ["a", 60_000])).rejects.toThrow(/groups of task id/);
    expect(await store.getTask("h1")).toMatchObject({ state: "running" });
    expect(await run("finishMany", keys, ["a", 60_000, "h1", "x", "completed", "null", "", "*}{:h1", 1, "completed", "null", ""])).toEqual([-2, -1]);
    expect(await store.getTask("h1")).toMatchObject({ state: "running" });
  });
});

describe("FinishBatcher", () => {
  it("sends finishes made in a row as one finishMany, ahead of the next command on the connection", async () => {
    const connection = createRedis(inject("redisUrl"));
    opened.push(connection);
    const store = new Store(connection, testNamespace("finish-batcher"));
    await store.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
    for (const id of ["t1", "t2"]) {
      await store.submit(spec(id), "a");
      await store.claim(id, "a", 1);
    }
    const many = vi.spyOn(store, "finishMany");
    const batcher = new FinishBatcher(store, "a", 60_000);

    const finishes = [batcher.finish("t1", 1, "completed", "1"), batcher.finish("t2", 9, "completed", "2")];
    // Sent after the finishes, answered after them: both records are read as the finishes left them.
    const states = connection.hmget(store.keys.task("t1"), "state");
    const [done, stale] = await Promise.allSettled(finishes);

    expect(many).toHaveBeenCalledTimes(1);
    expect(done).toMatchObject({ status: "fulfilled", value: { final: true, state: "done" } });
    expect(stale).toMatchObject({ status: "rejected", reason: expect.any(StaleTaskError) as unknown });
    expect(await states).toEqual(["done"]);
  });

  it("splits finishes that another command came between, keeping each in its place", async () => {
    const connection = createRedis(inject("redisUrl"));
    opened.push(connection);
    const store = new Store(connection, testNamespace("finish-batcher-order"));
    await store.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
    for (const id of ["t1", "t2"]) {
      await store.submit(spec(id), "a");
      await store.claim(id, "a", 1);
    }
    const one = vi.spyOn(store, "finish");
    const many = vi.spyOn(store, "finishMany");
    const batcher = new FinishBatcher(store, "a", 60_000);

    const first = batcher.finish("t1", 1, "completed", "1");
    const between = connection.hmget(store.keys.task("t2"), "state");
    const second = batcher.finish("t2", 1, "completed", "2");
    await Promise.all([first, second]);

    expect(one).toHaveBeenCalledTimes(2);
    expect(many).not.toHaveBeenCalled();
    expect(await between).toEqual(["running"]);
  });

  it("rejects only the finish whose answer is an error of any kind, resolving its batch-mates", async () => {
    const connection = createRedis(inject("redisUrl"));
    opened.push(connection);
    const store = new Store(connection, testNamespace("finish-batcher-unreadable"));
    const done: FinishResult = { durationMs: 5, final: true, state: "done" };
    const unreadable = new TypeError("a reply this release cannot read");
    vi.spyOn(store, "finishMany").mockResolvedValue([done, unreadable]);
    const batcher = new FinishBatcher(store, "a", 60_000);

    const answers = await Promise.allSettled([batcher.finish("t1", 1, "completed", "1"), batcher.finish("t2", 1, "completed", "2")]);

    expect(answers).toEqual([
      { status: "fulfilled", value: done },
      { status: "rejected", reason: unreadable },
    ]);
  });

  it("sends at once on a connection that holds nothing back, and rejects every finish of a failed call", async () => {
    const plain = new Store(redis, testNamespace("finish-batcher-plain"));
    await plain.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
    await plain.submit(spec("p1"), "a");
    await plain.claim("p1", "a", 1);
    await expect(new FinishBatcher(plain, "a", 60_000).finish("p1", 1, "retry", "x")).resolves.toMatchObject({ final: false, state: "queued" });

    const connection = createRedis(inject("redisUrl"));
    opened.push(connection);
    const store = new Store(connection, testNamespace("finish-batcher-lost"));
    const lost = new Error("Connection is closed.");
    vi.spyOn(store, "finishMany").mockRejectedValue(lost);
    const batcher = new FinishBatcher(store, "a", 60_000);
    const answers = await Promise.allSettled([batcher.finish("t1", 1, "completed", "1"), batcher.finish("t2", 1, "completed", "2")]);
    expect(answers).toEqual([
      { status: "rejected", reason: lost },
      { status: "rejected", reason: lost },
    ]);
  });
});
