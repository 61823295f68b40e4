import { TaskSpecSchema } from "@worksteal/protocol";
import { describe, expect, it, vi } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { testNamespace } from "@worksteal/testkit";
import { ClaimBatcher } from "./claim-batch.js";
import { AgentNotAliveError, StaleTaskError, StoreError, TaskNotFoundError } from "./errors.js";
import { scriptRunner } from "./scripts.js";
import { type ClaimedTask, Store } from "./store.js";
import { taskPathState } from "./testing.js";
import { cancelTask } from "./task-control.js";

const redis = sharedRedis();

const spec = (id: string, maxAttempts = 2) => TaskSpecSchema.parse({ id, type: "resize", payload: { id }, maxAttempts });

/**
 * A namespace where agent a (concurrency 10) holds tasks in every state a claim tells apart:
 * claimable (ok1, ok2), a job of an old epoch (old), another agent's task (other's), finished
 * (done), out of attempts after a run cut off (spent), cancelled while running (cancelling).
 */
async function fleetWithEveryCase(name: string): Promise<Store> {
  const store = new Store(redis, testNamespace(name));
  for (const id of ["a", "b"]) await store.registerAgent({ id, capabilities: [], concurrency: 10, priority: 0 });
  await redis.set(store.keys.fence, 1);
  for (const id of ["ok1", "ok2", "old", "done", "cancelling"]) await store.submit(spec(id), "a");
  await store.submit(spec("others"), "b");
  await store.claim("done", "a", 1);
  await store.finish("done", "a", 1, "completed", "null");
  await store.claim("cancelling", "a", 1);
  expect(await cancelTask(store, "cancelling", 60_000)).toBe("cancelling");
  await store.submit(spec("spent", 1), "b");
  await store.claim("spent", "b", 1);
  await store.reassign("spent", "b", "a", "running", 1, 1);
  return store;
}

/** The claims made of every case, in an order with the same task twice (its second claim re-takes the run). */
const CLAIMS = [
  { taskId: "ok1", epoch: 1 },
  { taskId: "old", epoch: 7 },
  { taskId: "missing", epoch: 1 },
  { taskId: "others", epoch: 1 },
  { taskId: "done", epoch: 1 },
  { taskId: "spent", epoch: 2 },
  { taskId: "cancelling", epoch: 1 },
  { taskId: "ok1", epoch: 1 },
  { taskId: "ok2", epoch: 1 },
];

/** What a claim answered, without the error's message (it names the task either way). */
const outcome = (answer: ClaimedTask | Error) => (answer instanceof Error ? answer.constructor.name : answer);

const stateOf = (store: Store) => taskPathState(redis, store, ["ok1", "ok2", "old", "others", "done", "spent", "cancelling"]);

describe("claimMany", () => {
  it("answers each claim of a mixed batch as claim answers it alone, and leaves the same records, loads and events", async () => {
    const alone = await fleetWithEveryCase("claim-alone");
    const batched = await fleetWithEveryCase("claim-batched");
    const aloneAnswers: Array<ClaimedTask | StoreError> = [];
    for (const { taskId, epoch } of CLAIMS) aloneAnswers.push(await alone.claim(taskId, "a", epoch, 60_000).catch((error: StoreError) => error));

    const batchedAnswers = await batched.claimMany("a", CLAIMS, 60_000);

    expect(batchedAnswers.map(outcome)).toEqual(aloneAnswers.map(outcome));
    expect(batchedAnswers.map(outcome)).toEqual([
      expect.objectContaining({ attempt: 1, restarted: false, payload: { id: "ok1" } }),
      "StaleTaskError",
      "TaskNotFoundError",
      "StaleTaskError",
      "TaskFinishedError",
      "AttemptsExhaustedError",
      "TaskFinishedError",
      expect.objectContaining({ attempt: 2, restarted: true }),
      expect.objectContaining({ attempt: 1, restarted: false, payload: { id: "ok2" } }),
    ]);
    expect(batchedAnswers[2]).toBeInstanceOf(TaskNotFoundError);
    expect(await stateOf(batched)).toEqual(await stateOf(alone));
  });

  it("refuses the new starts of a draining agent and goes on with the run it re-takes", async () => {
    const store = new Store(redis, testNamespace("claim-many-drain"));
    await store.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
    for (const id of ["r1", "q1"]) await store.submit(spec(id), "a");
    await store.claim("r1", "a", 1);
    await store.drain("a");

    const [queued, running] = await store.claimMany("a", [
      { taskId: "q1", epoch: 1 },
      { taskId: "r1", epoch: 1 },
    ]);

    expect(queued).toBeInstanceOf(AgentNotAliveError);
    expect(running).toMatchObject({ attempt: 2, restarted: true });
    expect(await store.getTask("q1")).toMatchObject({ state: "queued", attempts: 0 });
  });

  it("rejects arguments that are not pairs of task id and epoch, claiming nothing; a hostile id or epoch is only a refusal", async () => {
    const store = new Store(redis, testNamespace("claim-many-hostile"));
    await store.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
    await store.submit(spec("h1"), "a");
    const run = scriptRunner(redis);
    const k = store.keys;
    const keys = [k.events, k.queuedOf("a"), k.runningOf("a"), k.agent("a")];

    await expect(run("claimMany", keys, ["a", 60_000, "h1", 1, "h2"])).rejects.toThrow(/pairs of task id and epoch/);
    await expect(run("claimMany", keys, ["a", 60_000])).rejects.toThrow(/pairs of task id and epoch/);
    expect(await store.getTask("h1")).toMatchObject({ state: "queued", attempts: 0 });

    expect(await run("claimMany", keys, ["a", 60_000, "h1", "not a number", "*}{:h1", 1, "", 1])).toEqual([-2, -1, -1]);
    expect(await store.getTask("h1")).toMatchObject({ state: "queued", attempts: 0 });
  });

  it("answers a claim whose record cannot be read with its own error, and its batch-mates as claimed", async () => {
    const store = new Store(redis, testNamespace("claim-many-unreadable"));
    await store.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
    for (const id of ["good", "bad"]) await store.submit(spec(id, 1), "a");
    // A backoff of a form this release cannot read (a later release's): claimed in Redis, unreadable here.
    await redis.hset(store.keys.task("bad"), "backoff", '["linear",1,1,0]');

    const [good, bad] = await store.claimMany("a", [
      { taskId: "good", epoch: 1 },
      { taskId: "bad", epoch: 1 },
    ]);

    expect(good).toMatchObject({ attempt: 1, payload: { id: "good" } });
    expect(bad).toBeInstanceOf(Error);
    expect(bad).not.toBeInstanceOf(StoreError);
  });

  it("answers nothing for no claim, without a call", async () => {
    const store = new Store(redis, testNamespace("claim-many-none"));
    expect(await store.claimMany("a", [])).toEqual([]);
  });
});

describe("ClaimBatcher", () => {
  it("sends the claims of one turn as one claimMany, each answered on its own", async () => {
    const store = new Store(redis, testNamespace("claim-batcher"));
    await store.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
    for (const id of ["t1", "t2"]) await store.submit(spec(id), "a");
    const many = vi.spyOn(store, "claimMany");
    const one = vi.spyOn(store, "claim");
    const batcher = new ClaimBatcher(store, "a", 60_000);

    const answers = await Promise.allSettled([batcher.claim("t1", 1), batcher.claim("t2", 5), batcher.claim("gone", 1)]);

    expect(many).toHaveBeenCalledTimes(1);
    expect(one).not.toHaveBeenCalled();
    expect(answers[0]).toMatchObject({ status: "fulfilled", value: { attempt: 1, payload: { id: "t1" } } });
    expect(answers[1]).toMatchObject({ status: "rejected", reason: expect.any(StaleTaskError) as unknown });
    expect(answers[2]).toMatchObject({ status: "rejected", reason: expect.any(TaskNotFoundError) as unknown });
    expect(await store.getTask("t2")).toMatchObject({ state: "queued" });
  });

  it("sends a claim alone in its turn as claim, and claims of later turns as calls of their own", async () => {
    const store = new Store(redis, testNamespace("claim-batcher-alone"));
    await store.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
    for (const id of ["t1", "t2"]) await store.submit(spec(id), "a");
    const many = vi.spyOn(store, "claimMany");
    const one = vi.spyOn(store, "claim");
    const batcher = new ClaimBatcher(store, "a", 60_000);

    expect(await batcher.claim("t1", 1)).toMatchObject({ attempt: 1 });
    await expect(batcher.claim("t1", 1)).resolves.toMatchObject({ attempt: 2, restarted: true });
    await expect(batcher.claim("t2", 1)).resolves.toMatchObject({ attempt: 1 });

    expect(one).toHaveBeenCalledTimes(3);
    expect(many).not.toHaveBeenCalled();
  });

  it("resolves a claim whose batch-mate's record cannot be read: the attempt Redis counted is not lost", async () => {
    const store = new Store(redis, testNamespace("claim-batcher-unreadable"));
    await store.registerAgent({ id: "a", capabilities: [], concurrency: 10, priority: 0 });
    for (const id of ["good", "bad"]) await store.submit(spec(id, 1), "a");
    await redis.hset(store.keys.task("bad"), "backoff", '["linear",1,1,0]');
    const batcher = new ClaimBatcher(store, "a", 60_000);

    const [good, bad] = await Promise.allSettled([batcher.claim("good", 1), batcher.claim("bad", 1)]);

    // Its only attempt is counted in Redis: had its claim been rejected too, the task would fail unrun.
    expect(good).toMatchObject({ status: "fulfilled", value: { attempt: 1, payload: { id: "good" } } });
    expect(bad).toMatchObject({ status: "rejected" });
  });

  it("rejects every claim of a batch whose call failed (a lost connection), as each would have been", async () => {
    const store = new Store(redis, testNamespace("claim-batcher-lost"));
    const lost = new Error("Connection is closed.");
    vi.spyOn(store, "claimMany").mockRejectedValue(lost);
    const batcher = new ClaimBatcher(store, "a", 60_000);

    const answers = await Promise.allSettled([batcher.claim("t1", 1), batcher.claim("t2", 1)]);

    expect(answers).toEqual([
      { status: "rejected", reason: lost },
      { status: "rejected", reason: lost },
    ]);
  });
});
