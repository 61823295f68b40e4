import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Directive, resolveConfig, TaskSpecSchema } from "@worksteal/protocol";
import { AgentQueues, openDirectiveQueue, Store } from "@worksteal/store";
import { testNamespace } from "@worksteal/testkit";
import { AgentDirectory } from "./agent-directory.js";
import { DirectivePlanner, wellFormed } from "./directive-planner.js";

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject("redisUrl"));
});
afterAll(async () => {
  await redis.quit();
});

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
  it("plans one round at a time: two asked for at once never name a task twice (the second sees the first's in flight)", async () => {
    const namespace = testNamespace("planner-serial");
    const store = new Store(redis, namespace);
    for (const id of ["a1", "a2"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    const queues = new AgentQueues(redis, store.keys);
    for (let i = 0; i < 8; i++) {
      const { epoch } = await store.submit(TaskSpecSchema.parse({ id: `t${i}` }), "a1");
      await queues.enqueue("a1", `t${i}`, epoch, 1);
    }
    const directives = openDirectiveQueue(store);
    const config = resolveConfig({ overrides: { namespace, strategy: "balanced" } });
    const planner = new DirectivePlanner(store, new AgentDirectory(store, config.agentTtlMs), directives, config, pino({ level: "silent" }));
    try {
      const [first, second] = await Promise.all([planner.planOnce(1), planner.planOnce(1)]);
      const named = [...first, ...second].flatMap((d) => d.taskIds ?? []);
      expect(first.length).toBeGreaterThan(0);
      expect(new Set(named).size).toBe(named.length);
    } finally {
      await Promise.all([directives.close(), queues.close()]);
    }
  });
});
