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
    // Many slots and short tasks: many fetches are in flight whenever the drain begins.
    const draining = new Agent({
      id: "leaving",
      concurrency: 16,
      config: h.config,
      handler: async (task) => {
        starts.push(task.id);
        await new Promise((r) => setTimeout(r, 2));
      },
    });
    await draining.start();
    stops.push(() => draining.close());
    await h.startAgentProcess("stays", { concurrency: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 400; i++) ids.push((await h.client.submit({ id: `d${i}`, agentId: "leaving", payload: { ms: 5 } })).taskId);
    await eventually(() => expect(starts.length).toBeGreaterThan(20));
    // The drain begins while the worker is busy fetching.
    await draining.drain();
    expect(await h.redis.hget(h.store.keys.agent("leaving"), "status")).toBe("drained");
    await eventually(
      async () => {
        for (const id of ids) expect((await h.store.getTask(id))?.state, id).toBe("done");
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // On the Redis clock, which orders the scripts: no claim on the agent after its drain. Each
    // task ran once (below), so the record of one that ran here holds this start (startedAt).
    const events = (await h.redis.xrange(h.store.keys.events, "-", "+")).map(([, f]) => JSON.parse(f[1]!) as { kind: string; agentId?: string; at: number });
    const drainedAt = events.find((e) => e.kind === "agent:draining" && e.agentId === "leaving")!.at;
    const lateStarts: string[] = [];
    for (const id of starts) if ((await h.store.getTask(id))!.startedAt! > drainedAt) lateStarts.push(id);
    expect(lateStarts).toEqual([]);
    const runs = await h.runCounts();
    for (const [id, n] of Object.entries(runs)) expect(n, id).toBe(1);
    const ranHere = new Set(starts);
    expect(ranHere.size).toBe(starts.length);
    for (const id of ids) expect((runs[id] ?? 0) + (ranHere.has(id) ? 1 : 0), id).toBe(1);
  });

  it("an undrained agent takes tasks again; a drain under way when it is undrained ends without draining", async () => {
    h = namespaceHarness("undrain");
    const ran: string[] = [];
    const agent = new Agent({
      id: "back",
      config: h.config,
      handler: (task) => {
        ran.push(task.id);
      },
    });
    await agent.start();
    stops.push(() => agent.close());
    await agent.drain();
    await expect(h.client.submit({ id: "refused", agentId: "back" })).rejects.toThrow(/not alive/);
    await h.store.undrain("back");
    await h.client.submit({ id: "welcome", agentId: "back" });
    expect((await h.client.waitFor("welcome", { timeoutMs: 20_000 })).state).toBe("done");
    expect(ran).toEqual(["welcome"]);

    // Undrained while its drain waits for a running task: the drain gives up, the agent stays.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = new Agent({ id: "slow", config: h.config, handler: () => held });
    await slow.start();
    stops.push(() => slow.close());
    await h.client.submit({ id: "long", agentId: "slow" });
    await eventually(async () => expect((await h.store.getTask("long"))?.state).toBe("running"));
    // Settled into a value at once: the rejection may come before the assertion is reached.
    const draining = slow.drain().then(
      () => "drained",
      (error: Error) => error.message,
    );
    // The undrain must reach Redis after the drain: they travel on two connections.
    await eventually(async () => expect(await h.redis.hget(h.store.keys.agent("slow"), "status")).toBe("draining"));
    await h.store.undrain("slow");
    expect(await draining).toMatch(/undrained before it drained/);
    release();
    await h.client.submit({ id: "after", agentId: "slow" });
    expect((await h.client.waitFor("after", { timeoutMs: 20_000 })).state).toBe("done");
  });

  it("a drain after an undrain the agent has not heard of yet drains again", async () => {
    // Heartbeats too rare to intervene: the agent learns nothing of the undrain by itself.
    h = namespaceHarness("redrain", { heartbeatIntervalMs: 10_000 });
    const agent = new Agent({ id: "twice", config: h.config, handler: () => undefined });
    await agent.start();
    stops.push(() => agent.close());
    await agent.drain();
    await h.store.undrain("twice");
    await agent.drain();
    expect(await h.redis.hget(h.store.keys.agent("twice"), "status")).toBe("drained");
  });
});
