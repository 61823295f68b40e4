import { UnrecoverableError } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { Agent, type TaskContext } from "@worksteal/agent";
import { Client } from "@worksteal/client";
import { Replica } from "@worksteal/coordinator";
import { jobIdFor } from "@worksteal/protocol";
import { AgentQueues, QUEUE_EVENTS_MAX_LEN, Store } from "@worksteal/store";
import { eventually, testNamespace } from "@worksteal/testkit";

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

function setup() {
  const namespace = testNamespace("path");
  const config = { redisUrl: inject("redisUrl"), namespace, logLevel: "silent" as const, heartbeatIntervalMs: 200, stealInterval: 100 };
  const client = new Client({ config });
  closers.push(() => client.close());
  const redis = new Redis(config.redisUrl);
  closers.push(() => redis.quit());
  const startAgent = async (id: string, handler: (t: TaskContext) => unknown, extra: { capabilities?: string[] } = {}) => {
    const agent = new Agent({ id, handler, config, ...extra });
    await agent.start();
    closers.push(() => agent.close());
    return agent;
  };
  return { config, client, redis, startAgent, store: new Store(redis, namespace) };
}

describe("a task's path", () => {
  it("a submitted task runs once on its agent and ends done", async () => {
    const { client, startAgent } = setup();
    const runs: TaskContext[] = [];
    await startAgent("a1", (task) => {
      runs.push(task);
      return { doubled: (task.payload as { n: number }).n * 2 };
    });
    const submitted = await client.submit({ id: "t1", type: "double", payload: { n: 21 } });
    expect(submitted).toMatchObject({ owner: "a1", epoch: 1, created: true });
    const record = await client.waitFor("t1", { timeoutMs: 10_000 });
    expect(record).toMatchObject({ state: "done", owner: "a1", attempts: 1, result: { doubled: 42 } });
    expect(runs.map((r) => r.id)).toEqual(["t1"]);
  });

  it("leaves nothing of a finished task in its agent's BullMQ queue, and keeps the queue's events stream short", async () => {
    const { client, redis, startAgent, store } = setup();
    await startAgent("a1", (task) => {
      if (task.id.startsWith("bad")) throw new UnrecoverableError("fails for good");
      return "ok";
    });
    const ids = Array.from({ length: 400 }, (_, i) => (i % 10 === 0 ? `bad${i}` : `good${i}`));
    await client.submitMany(ids.map((id) => ({ id, agentId: "a1" })));
    for (const id of ids) expect((await client.waitFor(id, { timeoutMs: 20_000 })).state).toBe(id.startsWith("bad") ? "failed" : "done");
    const queue = new AgentQueues(redis, store.keys).get("a1");
    closers.push(() => queue.close());
    // Each job's removal is its worker's moveToFinished, just after the task's finish.
    await eventually(async () =>
      expect(await queue.getJobCounts("completed", "failed", "active", "prioritized", "wait")).toEqual({
        completed: 0,
        failed: 0,
        active: 0,
        prioritized: 0,
        wait: 0,
      }),
    );
    // Some 1,600 events were appended; trimming is approximate (whole nodes of up to 100 entries).
    expect(await redis.xlen(queue.toKey("events"))).toBeLessThanOrEqual(QUEUE_EVENTS_MAX_LEN + 200);
  });

  it("keeps a finished task with short fields (the default backoff included) as a compact listpack", async () => {
    const { client, redis, startAgent, store } = setup();
    await startAgent("a1", () => "ok");
    await client.submit({ id: "small", payload: { imageId: "img-0001", size: 512 } });
    expect(await client.waitFor("small", { timeoutMs: 10_000 })).toMatchObject({ state: "done", maxAttempts: 3 });
    // A field longer than hash-max-listpack-value (64 bytes) would make it a hashtable, some three times the memory.
    expect(await redis.object("ENCODING", store.keys.task("small"))).toBe("listpack");
  });

  it("a failing handler ends failed after its retries", async () => {
    const { client, startAgent } = setup();
    let calls = 0;
    await startAgent("a1", () => {
      calls += 1;
      throw new Error(`attempt ${calls} broke`);
    });
    await client.submit({ id: "bad", maxAttempts: 3 });
    const record = await client.waitFor("bad", { timeoutMs: 10_000 });
    expect(record).toMatchObject({ state: "failed", attempts: 3, error: "attempt 3 broke" });
    expect(calls).toBe(3);
  });

  it("a job whose epoch is stale is dropped without running the handler", async () => {
    const { client, redis, startAgent, store } = setup();
    await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    await client.submit({ id: "moved", agentId: "a1" });
    // As after a move: the record's epoch is ahead of the job that sits in a1's queue.
    await redis.hset(store.keys.task("moved"), "epoch", 2, "owner", "a2");
    const queues = new AgentQueues(redis, store.keys);
    closers.push(() => queues.close());
    const runs: string[] = [];
    await startAgent("a1", (task) => void runs.push(`${task.id}@${task.epoch}`));
    await queues.enqueue("a1", "moved", 1, 1); // a re-add of the leftover job is a no-op
    const queue = queues.get("a1");
    // Taken and completed, the job leaves the queue (finished jobs are not kept).
    await eventually(async () => expect(await queue.getJob(jobIdFor("moved", 1))).toBeUndefined(), { timeoutMs: 10_000 });
    expect(runs).toEqual([]);
    expect(await store.getTask("moved")).toMatchObject({ state: "queued", owner: "a2", epoch: 2, attempts: 0 });
  });

  it("a task no live agent can run waits, then runs when a capable agent appears", async () => {
    const { client, config, startAgent } = setup();
    await startAgent("plain", () => "wrong agent");
    const submitted = await client.submit({ id: "gpu-job", requiredCapabilities: ["gpu"] });
    expect(submitted.owner).toBeUndefined();
    const replica = new Replica({ config });
    await replica.start();
    closers.push(() => replica.stop());
    await startAgent("gpu-1", (task) => `ran on ${task.agentId}`, { capabilities: ["gpu"] });
    const record = await client.waitFor("gpu-job", { timeoutMs: 10_000 });
    expect(record).toMatchObject({ state: "done", owner: "gpu-1", result: "ran on gpu-1" });
  });
});
