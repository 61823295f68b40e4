import { afterEach, describe, expect, it } from "vitest";
import type { SubmitInput, SubmitRefused, Submitted } from "@worksteal/client";
import { eventually } from "@worksteal/testkit";
import { AgentIncapableError, AgentNotAliveError, QUEUE_EVENTS_MAX_LEN } from "@worksteal/store";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h.close();
});

function tasks(count: number, extra: Partial<SubmitInput> = {}): SubmitInput[] {
  return Array.from({ length: count }, (_, i) => ({ id: `t${i}`, type: "noop", payload: { i }, ...extra }));
}

function isRefused(result: Submitted | SubmitRefused): result is SubmitRefused {
  return "refused" in result;
}

describe("Client.submitMany", () => {
  it("returns one result per input, in input order, across chunks, and queues each job on its owner", async () => {
    h = namespaceHarness("many-order");
    await h.registerAgent("a1");
    const inputs = tasks(23);
    const results = await h.client.submitMany(inputs, { chunkSize: 5 });
    expect(results.map((r) => r.taskId)).toEqual(inputs.map((t) => t.id));
    expect(results.every((r) => !isRefused(r) && r.owner === "a1" && r.epoch === 1 && r.created)).toBe(true);
    const jobs = await h.waitingJobs(["a1"]);
    expect([...jobs.keys()].sort()).toEqual(inputs.map((t) => t.id).sort());
    const record = await h.client.get("t7");
    expect(record).toMatchObject({ state: "queued", owner: "a1", payload: { i: 7 } });
  });

  it("rejects a bad input naming its index and field, and writes nothing", async () => {
    h = namespaceHarness("many-bad");
    await h.registerAgent("a1");
    const eventsBefore = await h.redis.xlen(h.store.keys.events);
    const inputs = tasks(10);
    inputs[6] = { ...inputs[6]!, maxAttempts: 0 };
    await expect(h.client.submitMany(inputs, { chunkSize: 2 })).rejects.toThrow(/^invalid task at index 6: maxAttempts/);
    const badAgent = [...tasks(3), { id: "x", type: "noop", agentId: "no spaces allowed" }];
    await expect(h.client.submitMany(badAgent)).rejects.toThrow("invalid agentId at index 3");
    expect(await h.redis.keys(`${h.store.keys.task("*")}`)).toEqual([]);
    expect(await h.redis.xlen(h.store.keys.events)).toBe(eventsBefore);
  });

  it("creates nothing new for an id submitted before or twice in the call", async () => {
    h = namespaceHarness("many-dup");
    await h.registerAgent("a1");
    await h.client.submit({ id: "t1", type: "noop" });
    const results = await h.client.submitMany([...tasks(3), { id: "t2", type: "noop" }]);
    expect(results.map((r) => !isRefused(r) && r.created)).toEqual([true, false, true, false]);
    expect(results.every((r) => !isRefused(r) && r.owner === "a1" && r.epoch === 1)).toBe(true);
    const jobs = await h.waitingJobs(["a1"]);
    expect(jobs.size).toBe(3);
    expect([...jobs.values()].every((list) => list.length === 1)).toBe(true);
  });

  it("returns a refusal for a task whose named agent may not take it, and submits the rest", async () => {
    h = namespaceHarness("many-refused");
    await h.registerAgent("cpu");
    await h.registerAgent("gone");
    await h.store.drain("gone");
    const results = await h.client.submitMany([
      { id: "ok", type: "noop", agentId: "cpu" },
      { id: "incapable", type: "noop", agentId: "cpu", requiredCapabilities: ["gpu"] },
      { id: "draining", type: "noop", agentId: "gone" },
      { id: "placed", type: "noop" },
    ]);
    expect(results.map((r) => r.taskId)).toEqual(["ok", "incapable", "draining", "placed"]);
    expect(results[0]).toMatchObject({ owner: "cpu", created: true });
    expect(isRefused(results[1]!) && results[1].refused).toBeInstanceOf(AgentIncapableError);
    expect(isRefused(results[2]!) && results[2].refused).toBeInstanceOf(AgentNotAliveError);
    expect(results[3]).toMatchObject({ owner: "cpu", created: true });
    expect(await h.client.get("incapable")).toBeUndefined();
    expect(await h.client.get("draining")).toBeUndefined();
  });

  it("spreads a bulk over the live capable agents by placement", async () => {
    h = namespaceHarness("many-spread");
    for (const id of ["a1", "a2", "a3", "a4"]) await h.registerAgent(id, { concurrency: 2 });
    const results = await h.client.submitMany(tasks(40));
    const perOwner = new Map<string, number>();
    for (const r of results) if (!isRefused(r)) perOwner.set(r.owner ?? "", (perOwner.get(r.owner ?? "") ?? 0) + 1);
    expect([...perOwner.keys()].sort()).toEqual(["a1", "a2", "a3", "a4"]);
    expect(Math.max(...perOwner.values()) - Math.min(...perOwner.values())).toBeLessThanOrEqual(1);
  });

  it("keeps each owner's BullMQ events stream short: the submit script sets the queue meta's events length", async () => {
    h = namespaceHarness("many-meta");
    await h.registerAgent("single");
    await h.registerAgent("bulk");
    await h.client.submit({ id: "s", type: "noop", agentId: "single" });
    await h.client.submitMany([{ id: "b", type: "noop", agentId: "bulk" }]);
    for (const id of ["single", "bulk"]) {
      const meta = `${h.store.keys.agentQueueKeys(id)}meta`;
      await eventually(async () => expect(await h.redis.hget(meta, "opts.maxLenEvents")).toBe(String(QUEUE_EVENTS_MAX_LEN)));
    }
  });
});
