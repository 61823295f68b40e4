import { type Job, Worker } from "bullmq";
import { agentQueueName, bullPriorityOf, jobIdFor, TaskSpecSchema, type TaskSpecInput } from "@worksteal/protocol";
import { eventually, testNamespace } from "@worksteal/testkit";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { closeRedis, createRedis } from "./connection.js";
import { AgentQueues } from "./queues.js";
import { Store } from "./store.js";
import { QUEUE_EVENTS_MAX_LEN, TASK_BACKOFF_TYPE, type TaskJobData } from "./task-job.js";

const redis = sharedRedis();
let store: Store;
let queues: AgentQueues;

beforeAll(async () => {
  store = new Store(redis, testNamespace("task-job"));
  queues = new AgentQueues(redis, store.keys);
  for (const id of ["fused", "added", "order", "retry", "dup", "capped"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
});

afterAll(async () => {
  await queues.close();
});

const task = (id: string, extra: Partial<TaskSpecInput> = {}) => TaskSpecSchema.parse({ id, type: "noop", maxAttempts: 3, ...extra });

/** The agent's queue's key `suffix`, as BullMQ names it. */
const queueKey = (agentId: string, suffix: string) => `${store.keys.agentQueueKeys(agentId)}${suffix}`;

/** The queue's events stream, each entry's fields without the job id (which differs between queues only by name). */
async function queueEvents(agentId: string): Promise<string[][]> {
  const entries = await redis.xrange(queueKey(agentId, "events"), "-", "+");
  return entries.map(([, fields]) => fields);
}

/** A BullMQ worker on the agent's queue, recording the jobs it was handed, as they were then. */
function startWorker(agentId: string, process: (job: Job<TaskJobData>) => void = () => undefined) {
  const handed: Array<{ taskId: string; attemptsMade: number; processedOn: number; opts: Job["opts"] }> = [];
  const connection = createRedis(inject("redisUrl"), { role: "blocking" });
  const worker = new Worker<TaskJobData>(
    agentQueueName(agentId),
    (job) => {
      handed.push({ taskId: job.data.taskId, attemptsMade: job.attemptsMade, processedOn: job.processedOn ?? 0, opts: job.opts });
      // A throw fails the attempt, as a rejection would.
      return Promise.resolve().then(() => process(job));
    },
    { connection, prefix: store.keys.bullPrefix, concurrency: 1, settings: { backoffStrategy: () => 50 } },
  );
  const close = async () => {
    await worker.close();
    await closeRedis(connection);
  };
  return { close, handed };
}

describe("the job a submit adds in its script", () => {
  it("caps the queue's events stream even where no BullMQ Queue object wrote the queue's meta", async () => {
    // A client that submits and closes at once may never write the meta; BullMQ's add would then set its 10,000.
    await store.submit(task("capped-1"), "capped");
    expect(await redis.hget(queueKey("capped", "meta"), "opts.maxLenEvents")).toBe(String(QUEUE_EVENTS_MAX_LEN));
    // The agent's Worker sets BullMQ's default at its start (its stalled-jobs check) when the meta has none.
    await redis.hset(queueKey("capped", "meta"), "opts.maxLenEvents", "10000");
    await store.submit(task("capped-2"), "capped");
    expect(await redis.hget(queueKey("capped", "meta"), "opts.maxLenEvents")).toBe(String(QUEUE_EVENTS_MAX_LEN));
  });

  it("is the job BullMQ's Queue.add stores: the same hash fields, sets and queue events", async () => {
    const spec = task("same", { priority: 7, maxAttempts: 4 });
    await store.submit(spec, "fused");
    // The same task's first job added by BullMQ itself, to another queue.
    await queues.enqueueMany("added", [{ taskId: spec.id, epoch: 1, attempts: spec.maxAttempts }]);
    const jobId = jobIdFor(spec.id, 1);
    const fused = await redis.hgetall(queueKey("fused", jobId));
    const added = await redis.hgetall(queueKey("added", jobId));
    expect(Object.keys(fused).sort()).toEqual(Object.keys(added).sort());
    expect({ ...fused, timestamp: "" }).toEqual({ ...added, timestamp: "" });
    expect(JSON.parse(fused.opts!)).toEqual({
      attempts: 4,
      jobId,
      priority: bullPriorityOf(7),
      delay: 0,
      backoff: { type: TASK_BACKOFF_TYPE },
      removeOnComplete: true,
      removeOnFail: true,
    });
    expect(JSON.parse(fused.data!)).toEqual({ taskId: spec.id, epoch: 1 });
    for (const suffix of ["prioritized", "marker"]) {
      const withScores = (agentId: string) => redis.zrange(queueKey(agentId, suffix), "0", "-1", "WITHSCORES");
      expect(await withScores("fused")).toEqual(await withScores("added"));
    }
    for (const suffix of ["id", "pc"]) expect(await redis.get(queueKey("fused", suffix))).toBe(await redis.get(queueKey("added", suffix)));
    expect(await queueEvents("fused")).toEqual(await queueEvents("added"));
  });

  it("is handed to BullMQ's worker by priority (first in, first out within one), and retried with its backoff", async () => {
    const priorities = [0, 5, 9, 5, 0];
    for (const [i, priority] of priorities.entries()) await store.submit(task(`p${i}`, { priority }), "order");
    const { close, handed } = startWorker("order");
    try {
      await eventually(() => expect(handed).toHaveLength(priorities.length));
      expect(handed.map((job) => job.taskId)).toEqual(["p2", "p1", "p3", "p0", "p4"]);
    } finally {
      await close();
    }

    const failing = startWorker("retry", (job) => {
      if (job.attemptsMade < 2) throw new Error("not yet");
    });
    try {
      await store.submit(task("r", { maxAttempts: 3 }), "retry");
      await eventually(() => expect(failing.handed.map((job) => job.attemptsMade)).toEqual([0, 1, 2]));
      const [first, , last] = failing.handed;
      // Re-delivered after the backoff the worker's strategy gave, as a delayed job.
      expect(last!.processedOn - first!.processedOn).toBeGreaterThanOrEqual(2 * 50);
      expect(last!.opts).toMatchObject({ attempts: 3, backoff: { type: TASK_BACKOFF_TYPE } });
    } finally {
      await failing.close();
    }
  });

  it("leaves a job of the same task and epoch as it was: a collision is a no-op", async () => {
    await store.heartbeat("dup", 0, 0);
    await store.submit(task("d"), "dup");
    const jobKey = queueKey("dup", jobIdFor("d", 1));
    const before = await redis.hgetall(jobKey);
    // The record gone (expired), the job left: submitted again, the task gets epoch 1 and the same job id.
    await redis.del(store.keys.task("d"));
    const again = await store.submit(task("d", { priority: 9 }), "dup");
    expect(again).toMatchObject({ created: true, epoch: 1 });
    expect(await redis.hgetall(jobKey)).toEqual(before);
    expect(await redis.zcard(queueKey("dup", "prioritized"))).toBe(1);
    expect((await queueEvents("dup")).map((fields) => fields[1])).toEqual(["added", "waiting", "duplicated"]);
    // Submitted again with its record there: nothing is written.
    expect(await store.submit(task("d"), "dup")).toMatchObject({ created: false, epoch: 1 });
    expect(await queueEvents("dup")).toHaveLength(3);
  });
});
