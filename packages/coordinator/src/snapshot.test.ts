import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { TaskSpecSchema } from "@worksteal/protocol";
import { openDirectiveQueue, Store } from "@worksteal/store";
import { testNamespace } from "@worksteal/testkit";
import { AgentDirectory } from "./agent-directory.js";
import { readFleet } from "./fleet-view.js";
import { takeSnapshot } from "./snapshot.js";

const redis = sharedRedis();

describe("the leader's snapshot", () => {
  it("passes each type's average with the completions it rests on, so a task's estimate is a prior (the planner's estimateWeight)", async () => {
    const store = new Store(redis, testNamespace("snapshot-durations"));
    for (const id of ["a1", "a2"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    // a1 holds two tasks for its one slot, a2 none: a round has something to plan.
    for (const id of ["t1", "t2"]) await store.submit(TaskSpecSchema.parse({ id, type: "render" }), "a1");
    await redis.hset(store.keys.durations, { "render:sum": 6000, "render:count": 3 });
    const directory = new AgentDirectory(store, 15_000);
    const directives = openDirectiveQueue(store);
    try {
      const snapshot = await takeSnapshot(store, directory, await readFleet(store, directory), directives, 1, 1, {
        tailLength: 8,
        minTasksToSteal: 2,
        strategy: "balanced",
      });
      expect(snapshot).toMatchObject({ durationsByType: { render: 2000 }, durationCountsByType: { render: 3 } });
    } finally {
      await directives.close();
    }
  });

  // The directory's views carry no completions: without this read the planner weighed every
  // running task at its 1,000 ms default (defaultTaskDurationMs) and had no per-agent speed.
  it("passes the idle agents' and the victims' own completions, on which the planner's per-agent averages and speeds rest", async () => {
    const store = new Store(redis, testNamespace("snapshot-agent-durations"));
    for (const id of ["a1", "a2", "a3"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    // a1 holds two tasks for its one slot (a victim), a2 none (idle), a3 one (neither: not read).
    for (const id of ["t1", "t2"]) await store.submit(TaskSpecSchema.parse({ id }), "a1");
    await store.submit(TaskSpecSchema.parse({ id: "t3" }), "a3");
    await redis.hset(store.keys.workload("a1"), { durationSumMs: 600, durationCount: 3, durationSqSum: 140_000 });
    await redis.hset(store.keys.workload("a2"), { durationSumMs: 100, durationCount: 2 });
    await redis.hset(store.keys.workload("a3"), { durationSumMs: 50, durationCount: 1 });
    const directory = new AgentDirectory(store, 15_000);
    const directives = openDirectiveQueue(store);
    try {
      const fleet = await readFleet(store, directory);
      const snapshot = await takeSnapshot(store, directory, fleet, directives, 1, 1, {
        tailLength: 8,
        minTasksToSteal: 2,
        strategy: "balanced",
      });
      const completions = Object.fromEntries(snapshot!.agents.map((a) => [a.id, [a.workload.durationSumMs, a.workload.durationCount]]));
      expect(completions).toEqual({ a1: [600, 3], a2: [100, 2], a3: [0, 0] });
      // The squares where the hash has them (the spread of run times); a2's predates them.
      expect(Object.fromEntries(snapshot!.agents.map((a) => [a.id, a.workload.durationSqSum]))).toEqual({ a1: 140_000, a2: undefined, a3: undefined });
      // Into the snapshot's copies only: the views every reader shares (the placer's) are left
      // without them, not with a round's subset of agents carrying theirs.
      expect(fleet.map((a) => a.workload.durationCount)).toEqual([0, 0, 0]);
    } finally {
      await directives.close();
    }
  });

  it("projects an in-flight directive's named tasks that the tail read does not hold: its target is not seen empty", async () => {
    const store = new Store(redis, testNamespace("snapshot-named-in-flight"));
    for (const id of ["a1", "a2"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    const ids = ["t0", "t1", "t2", "t3", "t4", "t5"];
    for (const id of ids) await store.submit(TaskSpecSchema.parse({ id }), "a1");
    const directory = new AgentDirectory(store, 15_000);
    const directives = openDirectiveQueue(store);
    try {
      // Names the two oldest, which the tail read (2 newest queued jobs) does not hold.
      const inFlight = { id: "f1-r1-1", fence: 1, source: "a1", target: "a2", count: 2, taskIds: ["t0", "t1"], reason: "test", createdAt: 0 };
      await directives.add("steal", inFlight, { jobId: inFlight.id });
      const snapshot = await takeSnapshot(store, directory, await readFleet(store, directory), directives, 1, 1, {
        tailLength: 2,
        minTasksToSteal: 2,
        strategy: "balanced",
      });
      const queued = Object.fromEntries(snapshot!.agents.map((a) => [a.id, a.workload.queued]));
      expect(queued).toEqual({ a1: 4, a2: 2 });
      expect(snapshot!.tails.a2!.map((t) => t.id)).toEqual(["t1", "t0"]);
    } finally {
      await directives.obliterate({ force: true });
      await directives.close();
    }
  });
});
