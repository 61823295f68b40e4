import { afterEach, describe, expect, it } from "vitest";
import { type WorkStealEvent, WorkStealingCoordinator } from "@worksteal/compat";
import { DirectiveSchema } from "@worksteal/protocol";
import { openDirectiveQueue } from "@worksteal/store";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness;
let facade: WorkStealingCoordinator | undefined;
afterEach(async () => {
  await facade?.shutdown();
  await h.close();
});

describe("WorkStealingCoordinator, the original's surface", () => {
  it("plans on checkAndSteal, emits work:steal with the task IDs, and reports stats and operations", async () => {
    // A long planner period: the rounds that act here are the one the test asks for and those events start.
    // The facade registers a1 and a2 without heartbeats: a long TTL keeps them alive however
    // slowly a loaded machine runs this test (at 15 s they were dead before the last assertion).
    h = namespaceHarness("facade", { stealInterval: 60_000, maxStealBatch: 5, agentTtlMs: 300_000 });
    facade = new WorkStealingCoordinator({ config: h.config });
    const steals: WorkStealEvent[] = [];
    facade.on("work:steal", (e: WorkStealEvent) => steals.push(e));
    await facade.initialize();
    await facade.registerAgent({ id: "a1", concurrency: 1 });
    await facade.registerAgent({ id: "a2", concurrency: 1 });
    for (let i = 0; i < 12; i++) await h.client.submit({ id: `t${i}`, agentId: "a1", estimatedDurationMs: 100 });

    // The leader also plans on events: a1's backlog beside an idle a2 may have started a round
    // before this call, which then waits for it and plans from what it left. Either way every
    // steal goes from a1 to a2, and each is reported once.
    const directives = await facade.checkAndSteal();
    expect(directives.every((d) => d.source === "a1" && d.target === "a2" && d.count <= 5)).toBe(true);
    await eventually(() => expect(steals.length).toBeGreaterThan(0));
    // Each directive this call planned is executed and reported in its turn (an event round's may be reported first).
    await eventually(() => {
      for (const d of directives) expect(steals.map((s) => s.directiveId)).toContain(d.id);
    });
    // Rounds that events ask for may follow this call's: each steal recorded is also reported.
    await eventually(async () => {
      const operations = await facade!.getStealOperations();
      expect(operations.map((o) => o.directiveId).sort()).toEqual(steals.map((s) => s.directiveId).sort());
    });
    // Rounds plan one at a time, each from a snapshot no move ran across, and nothing runs
    // here: every move is made once, from a1 to a2, none refused and none moved back.
    expect(steals.every((s) => s.source === "a1" && s.target === "a2" && s.status === "completed")).toBe(true);
    const moved = steals.flatMap((s) => s.taskIds);
    expect(moved.length).toBeGreaterThan(0);
    for (const id of moved) expect((await h.store.getTask(id))?.owner).toBe("a2");
    await eventually(async () => {
      const stats = await facade!.getWorkloadStats();
      expect(stats).toMatchObject({ totalAgents: 2, aliveAgents: 2, totalQueued: 12, totalRunning: 0 });
      expect(stats.steals).toEqual({ completed: steals.length, partial: 0, rejected: 0, failed: 0, total: steals.length });
    });
  });

  it("plans one round at a time, each from a snapshot no move ran across: checkAndSteal calls beside the leader's round never name a task twice", async () => {
    h = namespaceHarness("facade-serial", { stealInterval: 60_000, maxStealBatch: 2, agentTtlMs: 300_000 });
    facade = new WorkStealingCoordinator({ config: h.config });
    const steals: WorkStealEvent[] = [];
    facade.on("work:steal", (e: WorkStealEvent) => steals.push(e));
    for (const id of ["a1", "a2", "a3"]) await facade.registerAgent({ id, concurrency: 1 });
    for (let i = 0; i < 12; i++) await h.client.submit({ id: `t${i}`, agentId: "a1", estimatedDurationMs: 100 });
    // Becoming leader starts a round at once; both calls are made while it runs, and beside each other.
    await facade.initialize();
    const calls = (await Promise.all([facade.checkAndSteal(), facade.checkAndSteal()])).flat();

    // Every directive planned (the calls' and the leader's round's), once each has been executed.
    const queue = openDirectiveQueue(h.store);
    try {
      const planned = async () =>
        (await queue.getJobs(["completed", "failed", "wait", "active", "delayed", "prioritized"])).map((job) => DirectiveSchema.parse(job.data));
      await eventually(async () => {
        const ids = (await planned()).map((d) => d.id).sort();
        expect(steals.map((s) => s.directiveId).sort()).toEqual(ids);
      });
      const directives = await planned();
      expect(directives.length).toBeGreaterThan(0);
      for (const d of calls) expect(directives.map((p) => p.id)).toContain(d.id);
      const named = directives.flatMap((d) => d.taskIds ?? []);
      expect(new Set(named).size).toBe(named.length);
      // So no move was refused, and each task stays where its one steal put it.
      expect(steals.filter((s) => s.status !== "completed")).toEqual([]);
      for (const d of directives) for (const id of d.taskIds ?? []) expect((await h.store.getTask(id))?.owner).toBe(d.target);
    } finally {
      await queue.close();
    }
  });

  it("publishes workload updates and durations as events, refuses bad ones, and drains on unregister", async () => {
    h = namespaceHarness("facade-events", { stealInterval: 60_000 });
    facade = new WorkStealingCoordinator({ config: h.config });
    await facade.initialize();
    await facade.registerAgent({ id: "a1" });
    await facade.updateAgentWorkload("a1", { cpu: 55, memoryMb: 300 });
    await facade.recordTaskDuration("a1", 120, "resize");
    await facade.recordTaskDuration("a1", 80, "resize");
    await eventually(async () => {
      const stats = await facade!.getWorkloadStats();
      expect(stats.agents[0]).toMatchObject({ id: "a1", cpu: 55, memoryMb: 300, avgDurationMs: 100 });
    });
    const before = await h.redis.xlen(h.store.keys.events);
    await expect(facade.updateAgentWorkload("a1", { cpu: 150, memoryMb: 1 })).rejects.toThrow(/cpu/);
    await expect(facade.recordTaskDuration("a1", -5)).rejects.toThrow(/durationMs/);
    expect(await h.redis.xlen(h.store.keys.events)).toBe(before);

    await facade.unregisterAgent("a1");
    expect(await h.redis.hget(h.store.keys.agent("a1"), "status")).toBe("draining");
    expect(await facade.performMaintenance()).toMatchObject({ jobsReadded: 0 });
  });
});
