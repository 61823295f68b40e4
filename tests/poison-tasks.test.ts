import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "@worksteal/agent";
import { Client } from "@worksteal/client";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

/**
 * Poison tasks (issue 8, item 3): a task whose result cannot be stored, or whose handler kills
 * its agent's process, must not run forever. Every run anywhere counts toward maxAttempts, and
 * past it the task ends `failed` with a reason that says why.
 */
let h: Harness;
const extra: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (extra.length > 0) await extra.pop()!();
  await h.close();
});

const AGENT_TTL_MS = 1500;
const LOCK_MS = 1000;
const AGENT_ENV = { WORKSTEAL_LOCK_DURATION_MS: String(LOCK_MS), WORKSTEAL_AGENT_TTL_MS: String(AGENT_TTL_MS) };

describe("poison tasks", () => {
  it("a result that cannot be serialised fails the attempt; the task ends failed after maxAttempts runs", async () => {
    h = namespaceHarness("poison-result");
    await h.startReplica();
    await h.startAgentProcess("a1", { concurrency: 2 });
    await h.client.submit({ id: "bigint", agentId: "a1", maxAttempts: 2, payload: { ms: 1, poison: "unserialisable" } });
    await h.client.submit({ id: "fine", agentId: "a1", payload: { ms: 1 } });
    const record = await h.client.waitFor("bigint", { timeoutMs: 30_000 });
    expect(record).toMatchObject({ state: "failed", attempts: 2 });
    expect(record.error).toMatch(/^result not serialisable as JSON/);
    expect((await h.client.waitFor("fine", { timeoutMs: 30_000 })).state).toBe("done");
    // Ended for good: the leader's repair of "running without a job" never picks it up again.
    await h.startReplica({ maintenanceIntervalMs: 200 });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await h.runCounts()).bigint).toBe(2);
  });

  it("a task that kills its agent's process is run at most maxAttempts times, then fails saying why", async () => {
    h = namespaceHarness("poison-crash", { agentTtlMs: AGENT_TTL_MS, lockDurationMs: LOCK_MS, leaseTtlMs: 600, stealInterval: 200, enabled: false });
    await h.startReplica();
    const agents = ["a1", "a2", "a3", "a4"];
    for (const id of agents) await h.startAgentProcess(id, { env: AGENT_ENV });
    await h.client.submit({ id: "crasher", agentId: "a1", maxAttempts: 2, payload: { ms: 1, poison: "crash" } });
    const record = await h.client.waitFor("crasher", { timeoutMs: 60_000, pollMs: 200 });
    expect(record.state).toBe("failed");
    expect(record.attempts).toBe(2);
    expect(record.error).toMatch(/agent died while running it 2 times/);
    expect((await h.runCounts()).crasher).toBe(2);
    // The folded figures agree: one failed task, nothing left queued or running anywhere.
    await eventually(async () => {
      let failed = 0;
      for (const id of agents) {
        const w = await h.redis.hgetall(h.store.keys.workload(id));
        failed += Number(w.failed ?? 0);
        expect(Number(w.queued ?? 0), id).toBe(0);
        expect(Number(w.running ?? 0), id).toBe(0);
      }
      expect(failed).toBe(1);
    });
    // Four agent processes start and two die in turn: about 28 s on a busy CI machine, where the
    // default 30 s left no room. The wait itself is bounded by waitFor's 60 s.
  }, 90_000);

  it("unserialisable payloads are refused on submit with a clear message", async () => {
    h = namespaceHarness("poison-payload");
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(h.client.submit({ id: "p1", payload: { n: 1n } })).rejects.toThrow(/^invalid task: payload: not serialisable as JSON/);
    await expect(h.client.submit({ id: "p2", payload: circular })).rejects.toThrow(/^invalid task: payload: not serialisable as JSON/);
    await expect(h.client.submit({ id: "p3", payload: { f: () => 1 } })).rejects.toThrow(
      /^invalid task: payload: not serialisable as JSON \(a function cannot be serialised\)/,
    );
    await expect(h.client.submit({ id: "p4", payload: "é".repeat(40_000) })).rejects.toThrow(
      /payload: serialises to 80002 bytes of JSON, over the 65536 limit/,
    );
    expect(await h.store.getTask("p1")).toBeUndefined();
  });

  it("an agent in this process: a handler's error is cut to a bounded size", async () => {
    h = namespaceHarness("poison-error");
    const agent = new Agent({
      id: "in-proc",
      handler: () => {
        throw new Error("x".repeat(100_000));
      },
      config: h.config,
    });
    await agent.start();
    extra.push(() => agent.close());
    const client = new Client({ config: h.config });
    extra.push(() => client.close());
    await client.submit({ id: "loud", agentId: "in-proc", maxAttempts: 1 });
    const record = await client.waitFor("loud", { timeoutMs: 30_000 });
    expect(record.state).toBe("failed");
    expect(Buffer.byteLength(record.error ?? "")).toBeLessThanOrEqual(4096);
  });
});
