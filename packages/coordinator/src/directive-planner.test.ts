import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { pino } from "pino";
import { describe, expect, inject, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { DIRECTIVE_QUEUE, type Directive, resolveConfig, TaskSpecSchema } from "@worksteal/protocol";
import { AgentQueues, openDirectiveQueue, Store } from "@worksteal/store";
import { eventually, testNamespace } from "@worksteal/testkit";
import { AgentDirectory } from "./agent-directory.js";
import { DirectivePlanner, wellFormed } from "./directive-planner.js";
import { DirectiveExecutor } from "./executor.js";
import { readFleet } from "./fleet-view.js";

const silent = pino({ level: "silent" });
const redis = sharedRedis();

const base: Directive = { id: "f1-r1-1", fence: 1, source: "a", target: "b", count: 2, taskIds: ["t0", "t1"], reason: "test", createdAt: 0 };

describe("wellFormed", () => {
  it("keeps the directives the executor accepts and says why each other one is dropped", () => {
    const repeated = { ...base, id: "f1-r1-2", taskIds: ["t0", "t0"] };
    const huge = { ...base, id: "f1-r1-3", count: 1e9, taskIds: undefined };
    const kept = { ...base, id: "f1-r1-4" };
    const { directives, malformed } = wellFormed([base, repeated, huge, kept]);
    expect(directives).toEqual([base, kept]);
    expect(malformed.map((m) => m.id)).toEqual(["f1-r1-2", "f1-r1-3"]);
    expect(malformed[0]!.reason).toMatch(/taskIds: taskIds must name count distinct tasks/);
    expect(malformed[1]!.reason).toMatch(/^count:/);
  });
});

describe("DirectivePlanner", () => {
  // A leader round reads the fleet, then plans: a directive that ran in between left counts from
  // before its moves beside tails from after them (its target idle still, its source as full), and
  // the round moved as many tasks again.
  it("reads the fleet again when a task moved since the round read it: it never moves the same share twice", async () => {
    const namespace = testNamespace("planner-settled");
    const store = new Store(redis, namespace);
    for (const id of ["a1", "a2"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    const queues = new AgentQueues(redis, store.keys);
    for (let i = 0; i < 8; i++) {
      const { epoch } = await store.submit(TaskSpecSchema.parse({ id: `t${i}` }), "a1");
      await queues.enqueue("a1", `t${i}`, epoch, 1);
    }
    // The move script lets only the current leadership's directives act.
    const lease = await store.acquireLease("replica-test", 60_000, "token");
    if (!lease.held) throw new Error("a fresh namespace's lease is free");
    const { fence } = lease;
    const directives = openDirectiveQueue(store);
    const config = resolveConfig({ overrides: { namespace, strategy: "balanced", maxStealBatch: 10 } });
    const directory = new AgentDirectory(store, config.agentTtlMs);
    const planner = new DirectivePlanner(store, directory, directives, config, silent);
    const executor = new DirectiveExecutor(store, queues, { maxDirectiveAgeMs: 60_000, retentionMs: 60_000 }, silent);
    const workerRedis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    let worker: Worker<Directive> | undefined;
    try {
      const first = await planner.planOnce(fence);
      expect(first.directives.map((d) => `${d.source}->${d.target} x${d.count}`)).toEqual(["a1->a2 x4"]);
      // The fleet as a round reads it while the directive waits; then the directive runs.
      const readBeforeItRan = { movesBefore: await store.readMoveCount(), agents: await readFleet(store, directory) };
      worker = new Worker<Directive>(DIRECTIVE_QUEUE, (job) => executor.execute(job.data), { connection: workerRedis, prefix: store.keys.bullPrefix });
      await eventually(async () => expect(await directives.getJobState(first.directives[0]!.id)).toBe("completed"));
      // The move script counted each of its moves.
      expect(await store.readMoveCount()).toBe(readBeforeItRan.movesBefore + 4);

      const second = await planner.planOnce(fence, () => true, readBeforeItRan);
      expect(second).toEqual({ directives: [], unsettled: false });
      expect((await readFleet(store, directory)).map((a) => [a.id, a.workload.queued])).toEqual([
        ["a1", 4],
        ["a2", 4],
      ]);
    } finally {
      await worker?.close();
      await Promise.all([directives.close(), queues.close(), workerRedis.quit()]);
    }
  });
});
