import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { jobIdFor } from "@worksteal/protocol";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness;
let beating = false;
let beats: Promise<void> | undefined;
afterEach(async () => {
  beating = false;
  await beats;
  await h.close();
});

const QUEUED = 3000;

/** Registers agents that take no job and keeps them alive, so that only maintenance touches their queues. */
async function idleAgents(ids: string[]): Promise<void> {
  for (const id of ids) await h.store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
  beating = true;
  beats = (async () => {
    while (beating) {
      for (const id of ids) await h.store.heartbeat(id, 0, 0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
}

/** Submits `count` tasks to `agentId`, a hundred at a time, and dates them a minute back: past the missing-job grace. */
async function submitOld(agentId: string, prefix: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  for (let i = 0; i < ids.length; i += 100) {
    await Promise.all(ids.slice(i, i + 100).map((id) => h.client.submit({ id, agentId })));
  }
  const old = (await h.store.now()) - 60_000;
  const pipeline = h.redis.pipeline();
  for (const id of ids) pipeline.hset(h.store.keys.task(id), "updatedAt", old);
  await pipeline.exec();
  return ids;
}

/** The agent's waiting job ids in the order they run: every job has a priority, so they wait in BullMQ's `prioritized` set (first to run first). */
async function waitList(agentId: string): Promise<string[]> {
  return h.redis.zrange(h.queues.get(agentId).toKey("prioritized"), "0", "-1");
}

describe("maintenance over long queues", () => {
  it(`finds every one of ${QUEUED} queued jobs: a quiet system reports no correction and keeps FIFO order`, async () => {
    // Maintenance only when the test calls it: a pass on the timer would race the checks.
    h = namespaceHarness("paging", { enabled: false, maintenanceIntervalMs: 600_000 });
    const replica = await h.startReplica();
    await idleAgents(["busy", "spare"]);
    await submitOld("busy", "t", QUEUED);
    await submitOld("spare", "s", 20);
    const before = { busy: await waitList("busy"), spare: await waitList("spare") };
    expect(before.busy).toHaveLength(QUEUED);

    for (let pass = 0; pass < 3; pass++) {
      const result = await replica.performMaintenance();
      expect(result?.jobsReadded).toBe(0);
    }
    expect(await waitList("busy")).toEqual(before.busy);
    expect(await waitList("spare")).toEqual(before.spare);
    expect(await h.redis.hget(h.store.keys.metrics, "reconciler.jobs_readded")).toBeNull();
  });

  it("re-adds a job that is really missing, or finished while its task is still queued, and leaves the rest in order", async () => {
    // Maintenance only when the test calls it: a pass on the timer would re-add the removed jobs early.
    h = namespaceHarness("paging-missing", { enabled: false, maintenanceIntervalMs: 600_000 });
    const replica = await h.startReplica();
    await idleAgents(["busy", "other"]);
    const ids = await submitOld("busy", "t", QUEUED);
    // Jobs lost from the head, the middle and the tail of the list.
    const lost = [ids[0]!, ids[QUEUED / 2]!, ids[QUEUED - 1]!];
    for (const id of lost) await h.queues.get("busy").remove(jobIdFor(id, 1));
    // A job that a worker completed without the task ever running, and that BullMQ kept (as
    // task jobs were kept before they were removed on finishing): adding the same job id again
    // would be a no-op.
    const [kept] = await submitOld("other", "f", 1);
    await h.queues.get("other").remove(jobIdFor(kept!, 1));
    await h.queues.get("other").add("task", { taskId: kept!, epoch: 1 }, { jobId: jobIdFor(kept!, 1), removeOnComplete: false });
    const connection = new Redis(h.config.redisUrl, { maxRetriesPerRequest: null });
    const worker = new Worker("agent.other", () => Promise.resolve(undefined), { connection, prefix: h.store.keys.bullPrefix });
    try {
      await eventually(async () => expect(await h.queues.get("other").getJobState(jobIdFor("f0", 1))).toBe("completed"));
    } finally {
      await worker.close();
      await connection.quit();
    }
    const before = await waitList("busy");
    expect(before).toHaveLength(QUEUED - lost.length);

    expect((await replica.performMaintenance())?.jobsReadded).toBe(lost.length + 1);
    const after = await waitList("busy");
    const readded = lost.map((id) => jobIdFor(id, 1));
    expect(after.filter((id) => !readded.includes(id))).toEqual(before);
    expect(after.filter((id) => readded.includes(id)).sort()).toEqual([...readded].sort());
    expect(await h.queues.get("other").getJobState(jobIdFor("f0", 1))).toBe("prioritized");
    // Once re-added, nothing is missing any more.
    expect((await replica.performMaintenance())?.jobsReadded).toBe(0);
    expect(await h.redis.hget(h.store.keys.metrics, "reconciler.jobs_readded")).toBe(String(lost.length + 1));
  });
});
