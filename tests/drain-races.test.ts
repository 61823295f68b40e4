import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "@worksteal/agent";
import { DirectiveExecutor } from "@worksteal/coordinator";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

/**
 * Issue 8, item 5: a drain must not strand tasks. A directive planned while its target was alive
 * and executed after the target began to drain moves nothing there; a job its worker fetched as
 * the drain began is not run there; whatever is left on it is handed over.
 */
let h: Harness;
const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (stops.length > 0) await stops.pop()!();
  await h.close();
});

describe("draining races", () => {
  it("a directive planned before the target drained moves nothing to it", async () => {
    h = namespaceHarness("drain-directive");
    for (const id of ["src", "dst"]) await h.store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    for (let i = 0; i < 5; i++) await h.client.submit({ id: `t${i}`, agentId: "src" });
    await h.redis.set(h.store.keys.fence, 1);
    const createdAt = await h.store.now();
    await h.store.drain("dst");
    const executor = new DirectiveExecutor(h.store, h.queues, { maxDirectiveAgeMs: 60_000, retentionMs: 60_000 }, pino({ level: "silent" }));
    const outcome = await executor.execute({ id: "f1-r1-1", fence: 1, source: "src", target: "dst", count: 3, reason: "test", createdAt });
    expect(outcome).toMatchObject({ status: "failed", taskIds: [] });
    expect(outcome.detail).toMatch(/no longer takes tasks/);
    expect(await h.redis.scard(h.store.keys.queuedOf("dst"))).toBe(0);
    expect(await h.redis.scard(h.store.keys.queuedOf("src"))).toBe(5);
  });

  it("no task starts on an agent once it drains, and every task runs once elsewhere", async () => {
    // Maintenance would trim the folded events this test reads.
    h = namespaceHarness("drain-fetch", { stealInterval: 100, maintenanceIntervalMs: 600_000 });
    await h.startReplica();
    const starts: string[] = [];
    const draining = new Agent({
      id: "leaving",
      concurrency: 4,
      config: h.config,
      handler: async (task) => {
        starts.push(task.id);
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    await draining.start();
    stops.push(() => draining.close());
    await h.startAgentProcess("stays", { concurrency: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push((await h.client.submit({ id: `d${i}`, agentId: "leaving", payload: { ms: 5 } })).taskId);
    await eventually(async () => expect(starts.length).toBeGreaterThan(10));
    // The drain begins while the worker is busy fetching.
    await draining.drain();
    expect(await h.redis.hget(h.store.keys.agent("leaving"), "status")).toBe("drained");
    await eventually(
      async () => {
        for (const id of ids) expect((await h.store.getTask(id))?.state, id).toBe("done");
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // On the Redis clock, which orders the scripts: no claim on the agent after its drain.
    const events = (await h.redis.xrange(h.store.keys.events, "-", "+")).map(([, f]) => JSON.parse(f[1]!) as { kind: string; agentId?: string; at: number });
    const drainedAt = events.find((e) => e.kind === "agent:draining" && e.agentId === "leaving")!.at;
    const lateStarts = events.filter((e) => e.kind === "task:started" && e.agentId === "leaving" && e.at > drainedAt);
    expect(lateStarts).toEqual([]);
    const runs = await h.runCounts();
    for (const [id, n] of Object.entries(runs)) expect(n, id).toBe(1);
    const ranHere = new Set(starts);
    expect(ranHere.size).toBe(starts.length);
    for (const id of ids) expect((runs[id] ?? 0) + (ranHere.has(id) ? 1 : 0), id).toBe(1);
  });
});
