import { afterEach, describe, expect, it, vi } from "vitest";
import { jobIdFor } from "@worksteal/protocol";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

// Agent processes on a busy two-core machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

let h: Harness;
afterEach(async () => {
  await h.close();
});

describe("a leader at fleet scale", () => {
  it("steals when events say so, long before the planning timer", async () => {
    // The timer would plan next in ten minutes: only the events of the burst can start the round.
    h = namespaceHarness("react", { stealInterval: 600_000 });
    await Promise.all(["a1", "a2"].map((id) => h.startAgentProcess(id, { concurrency: 2 })));
    await h.startReplica();
    const ids = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
    await h.client.submitMany(ids.map((id) => ({ id, agentId: "a1", payload: { ms: 300 } })));
    await eventually(
      async () => {
        const owners = await Promise.all(ids.map(async (id) => (await h.store.getTask(id))?.owner));
        expect(owners).toContain("a2");
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  });

  it("maintenance scans the fleet a share per pass, resuming where the last pass stopped, and repairs what the share holds", async () => {
    h = namespaceHarness("scan", { maintenanceIntervalMs: 600_000, enabled: false });
    const replica = await h.startReplica();
    // 1,200 agents, more than two passes hold; the last id holds a task whose job is missing.
    const ids = Array.from({ length: 1200 }, (_, i) => `agent-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < ids.length; i += 200) {
      await Promise.all(ids.slice(i, i + 200).map((id) => h.store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 })));
    }
    const last = ids[ids.length - 1]!;
    await h.client.submit({ id: "orphan", agentId: last });
    await h.queues.get(last).remove(jobIdFor("orphan", 1));
    // A missing job is re-added only once its task has been unchanged for a few seconds.
    await new Promise((r) => setTimeout(r, 5500));
    // Passes of at most 500 agents each (fewer when one runs out of time), each going on where the last stopped.
    const shares: number[] = [];
    let readded = 0;
    while (shares.reduce((a, b) => a + b, 0) < ids.length) {
      const result = await replica.performMaintenance();
      shares.push(result?.agentsScanned ?? 0);
      readded += result?.jobsReadded ?? 0;
      expect(result?.agentsScanned).toBeGreaterThan(0);
      expect(result?.agentsScanned).toBeLessThanOrEqual(500);
    }
    expect(shares.reduce((a, b) => a + b, 0)).toBe(ids.length);
    expect(readded).toBe(1);
    expect(await h.queues.jobStates(last, [jobIdFor("orphan", 1)])).toEqual(new Map([[jobIdFor("orphan", 1), "waiting"]]));
  });

  it("a heartbeat appends no event, and the leader sees a drain from the changes the scripts number, not by reading every agent", async () => {
    h = namespaceHarness("directory", { enabled: false });
    await h.startReplica();
    await h.registerAgent("a1");
    await h.registerAgent("a2");
    const length = await h.redis.xlen(h.store.keys.events);
    await h.store.heartbeat("a1", 50, 200);
    expect(await h.redis.xlen(h.store.keys.events)).toBe(length);
    await h.client.submit({ id: "t1", agentId: "a2" });
    // The leader has seen a2 alive (a round has run since), then a2 drains: its queue goes to a1.
    await new Promise((r) => setTimeout(r, 2000));
    await h.store.drain("a2");
    await eventually(async () => expect((await h.store.getTask("t1"))?.owner).toBe("a1"), { timeoutMs: 30_000 });
  });
});
