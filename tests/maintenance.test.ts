import { afterEach, describe, expect, it } from "vitest";
import { jobIdFor } from "@worksteal/protocol";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h.close();
});

describe("the leader's maintenance", () => {
  it("corrects drift injected into the load sets, and counts it", async () => {
    h = namespaceHarness("drift", { maintenanceIntervalMs: 200, enabled: false });
    await h.startReplica();
    await h.store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    for (let i = 0; i < 5; i++) await h.client.submit({ id: `t${i}`, agentId: "a1" });
    const loads = async () => [await h.redis.zscore(h.store.keys.queuedCounts, "a1"), await h.redis.zscore(h.store.keys.runningCounts, "a1")];
    expect(await loads()).toEqual(["5", null]);
    // Heartbeats keep arriving, as from a busy fleet: the stream is never idle, and drift must
    // still be corrected.
    let beating = true;
    const beats = (async () => {
      while (beating) {
        await h.store.heartbeat("a1", 10, 100);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await h.redis.zadd(h.store.keys.queuedCounts, 42, "a1");
    await h.redis.zadd(h.store.keys.runningCounts, -3, "a1");
    try {
      await eventually(
        async () => {
          expect(await loads()).toEqual(["5", "0"]);
        },
        { timeoutMs: 10_000 },
      );
    } finally {
      beating = false;
      await beats;
    }
    expect(Number(await h.redis.hget(h.store.keys.metrics, "reconciler.workload_corrections"))).toBeGreaterThanOrEqual(2);
  });

  it("re-adds a job that a crash left missing from its owner's queue; the task then runs once", async () => {
    h = namespaceHarness("missing", { maintenanceIntervalMs: 500, enabled: false });
    await h.startReplica();
    // Registered, but its worker not started yet: the job cannot be taken before it is removed.
    await h.store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    await h.client.submit({ id: "orphan", agentId: "a1", payload: { ms: 5 } });
    // A job lost after the submit (removed by hand, or a record left without one by a version whose submit added it apart).
    await h.queues.get("a1").remove(jobIdFor("orphan", 1));
    await h.startAgentProcess("a1");
    await eventually(async () => expect((await h.store.getTask("orphan"))?.state).toBe("done"), { timeoutMs: 15_000 });
    expect(await h.runCounts()).toEqual({ orphan: 1 });
    expect(await h.redis.hget(h.store.keys.metrics, "reconciler.jobs_readded")).toBe("1");
  });

  it("a hand-edited task record or agent key is skipped: the pass goes on to the end", async () => {
    h = namespaceHarness("hand-edited", { maintenanceIntervalMs: 600_000, enabled: false });
    const replica = await h.startReplica();
    await h.store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    await h.client.submit({ id: "unreadable", agentId: "a1" });
    await h.redis.hset(h.store.keys.task("unreadable"), "requiredCapabilities", "not json");
    // An agent id whose hash was overwritten with a string.
    await h.redis.sadd(h.store.keys.agents, "ghost");
    await h.redis.set(h.store.keys.agent("ghost"), "not a hash");
    await eventually(() => expect(replica.leaderFence).toBeDefined());
    // Every step ran to the end (before, the first unreadable record threw out of the pass).
    expect(await replica.performMaintenance()).toMatchObject({ jobsReadded: 0, agentsRemoved: 0 });
  });
});
