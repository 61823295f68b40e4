import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h.close();
});

const AGENT_TTL_MS = 1500;
const LOCK_MS = 2000;
/** Agents whose BullMQ lock is short, so a dead agent's running task is reclaimed quickly. */
const AGENT_ENV = { WORKSTEAL_LOCK_DURATION_MS: String(LOCK_MS) };

function harness(prefix: string) {
  // Stealing off: what moves here moves because an agent died or drains. Maintenance (which
  // trims folded events) is kept out of the way: these tests read the event stream.
  h = namespaceHarness(prefix, { agentTtlMs: AGENT_TTL_MS, stealInterval: 200, enabled: false, maintenanceIntervalMs: 600_000 });
  return h;
}

async function submitTo(agentId: string, count: number, ms: number, prefix: string, requiredCapabilities: string[] = []) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await h.client.submit({ id: `${prefix}${i}`, agentId, payload: { ms }, requiredCapabilities })).taskId);
  return ids;
}

async function allDone(ids: string[], timeoutMs = 30_000) {
  await eventually(async () => {
    for (const id of ids) expect((await h.store.getTask(id))?.state, id).toBe("done");
  }, { timeoutMs, intervalMs: 250 });
}

describe("dead agents", () => {
  it("an agent killed with a full queue has all its queued tasks run elsewhere", async () => {
    harness("dead-queue");
    await h.startReplica();
    const a1 = await h.startAgentProcess("a1", { env: AGENT_ENV });
    await h.startAgentProcess("a2", { concurrency: 4, env: AGENT_ENV });
    const ids = await submitTo("a1", 30, 100, "q");
    await eventually(async () => expect(await h.redis.scard(h.store.keys.runningOf("a1"))).toBe(1));
    a1.kill("SIGKILL");
    await allDone(ids);
    const runs = await h.runCounts();
    const ranOnA2 = [];
    for (const id of ids) {
      const record = (await h.store.getTask(id))!;
      if (record.owner === "a2") ranOnA2.push(id);
      // Only the task a1 was running when it died may have run twice (at-least-once).
      if (runs[id]! > 1) expect(record.epoch).toBeGreaterThan(1);
    }
    expect(ranOnA2.length).toBeGreaterThanOrEqual(25);
    expect(Object.values(runs).filter((n) => n > 1).length).toBeLessThanOrEqual(1);
    const stealOps = await h.redis.zrange(h.store.keys.steals, 0, "-1");
    const reasons = await Promise.all(stealOps.map((id) => h.redis.hget(h.store.keys.steal(id), "reason")));
    expect(reasons.every((r) => r === "evacuate dead agent a1")).toBe(true);
  });

  it("an agent killed mid-task has that task run again elsewhere once the lock has expired", async () => {
    harness("dead-running");
    await h.startReplica();
    const a1 = await h.startAgentProcess("a1", { env: AGENT_ENV });
    await h.startAgentProcess("a2", { env: AGENT_ENV });
    await h.client.submit({ id: "long", agentId: "a1", payload: { ms: 1500 } });
    await eventually(async () => expect(await h.runCounts()).toEqual({ long: 1 }));
    a1.kill("SIGKILL");
    await allDone(["long"]);
    expect(await h.store.getTask("long")).toMatchObject({ owner: "a2", epoch: 2, attempts: 2 });
    expect(await h.runCounts()).toEqual({ long: 2 });
    const events = (await h.redis.xrange(h.store.keys.events, "-", "+")).map(([, f]) => JSON.parse(f[1]!));
    expect(events.filter((e) => e.kind === "task:reassigned")).toEqual([
      expect.objectContaining({ taskId: "long", from: "a1", to: "a2", fromState: "running", epoch: 2 }),
    ]);
  });

  it("a task no live agent can run waits visibly, runs when a capable agent appears, and the old agent rejoins cleanly", async () => {
    harness("dead-caps");
    await h.startReplica();
    const gpu = await h.startAgentProcess("gpu-1", { capabilities: ["gpu"], env: AGENT_ENV });
    await h.startAgentProcess("cpu-1", { env: AGENT_ENV });
    gpu.pause(); // frozen: no heartbeat, holds its jobs
    const ids = await submitTo("gpu-1", 5, 20, "g", ["gpu"]);
    await eventually(async () => expect(await h.redis.zcard(h.store.keys.unassigned)).toBe(5), { timeoutMs: 10_000 });
    gpu.kill("SIGKILL");
    await h.startAgentProcess("gpu-2", { capabilities: ["gpu"], env: AGENT_ENV });
    await allDone(ids);
    for (const id of ids) expect((await h.store.getTask(id))?.owner).toBe("gpu-2");

    // gpu-1 comes back under the same id: alive again, its leftover jobs dropped, and it takes new work.
    await h.startAgentProcess("gpu-1", { capabilities: ["gpu"], env: AGENT_ENV });
    await h.client.submit({ id: "again", agentId: "gpu-1", payload: { ms: 5 }, requiredCapabilities: ["gpu"] });
    await allDone(["again"]);
    expect(Object.values(await h.runCounts()).every((n) => n === 1)).toBe(true);
  });
});

describe("draining", () => {
  it("hands the queue over, finishes what runs, reports drained, and loses nothing", async () => {
    harness("drain");
    await h.startReplica();
    await h.startAgentProcess("a1", { env: AGENT_ENV });
    await h.startAgentProcess("a2", { concurrency: 4, env: AGENT_ENV });
    const ids = await submitTo("a1", 25, 100, "d");
    await eventually(async () => expect(await h.redis.scard(h.store.keys.runningOf("a1"))).toBe(1));
    await h.store.drain("a1"); // what `worksteal agent drain a1` does
    await eventually(async () => expect(await h.redis.hget(h.store.keys.agent("a1"), "status")).toBe("drained"), { timeoutMs: 20_000 });
    await allDone(ids);
    expect(Object.values(await h.runCounts()).every((n) => n === 1)).toBe(true);
    expect(Object.keys(await h.runCounts())).toHaveLength(ids.length);
    const byA1 = (await Promise.all(ids.map((id) => h.store.getTask(id)))).filter((r) => r?.owner === "a1");
    expect(byA1.length).toBeLessThanOrEqual(3); // what it was running or had just taken
  });
});
