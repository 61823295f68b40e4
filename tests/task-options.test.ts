import { afterEach, describe, expect, it } from "vitest";
import { Agent, AttemptTimeoutError, TaskCancelledError, type TaskContext } from "@worksteal/agent";
import { TaskUnassignedError } from "@worksteal/client";
import { bullPriorityOf, type ConfigInput, type TaskRecord } from "@worksteal/protocol";
import { cancelTask, TaskNotFoundError } from "@worksteal/store";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness | undefined;
const agents: Agent[] = [];
afterEach(async () => {
  while (agents.length > 0) await agents.pop()!.close();
  await h?.close();
  h = undefined;
});

function harness(overrides: ConfigInput = {}): Harness {
  h = namespaceHarness("opts", { stealInterval: 100, ...overrides });
  return h;
}

/** An agent in this process (its handler sees the signal, progress and attempt); closed after the test. */
async function startAgent(harness: Harness, id: string, handler: (task: TaskContext) => unknown, concurrency = 1): Promise<Agent> {
  const agent = new Agent({ id, handler, concurrency, config: harness.config });
  await agent.start();
  agents.push(agent);
  return agent;
}

/** Resolves after `ms`, or rejects with the signal's reason once it is aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    });
  });
}

describe("priorities", () => {
  it("an agent runs its higher-priority tasks first, whatever the order they were queued in", async () => {
    const t = harness();
    await t.registerAgent("a1");
    for (let i = 0; i < 6; i++) await t.client.submit({ id: `low${i}`, priority: 0, agentId: "a1" });
    await t.client.submit({ id: "mid", priority: 500, agentId: "a1" });
    await t.client.submit({ id: "top", priority: 1000, agentId: "a1" });
    const ran: string[] = [];
    await startAgent(t, "a1", (task) => void ran.push(task.id));
    await eventually(() => expect(ran).toHaveLength(8), { timeoutMs: 20_000 });
    expect(ran.slice(0, 2)).toEqual(["top", "mid"]);
  });

  it("a steal takes the lowest-priority tasks, and the moved jobs keep their priority", async () => {
    const t = harness();
    await t.registerAgent("a1");
    const high = ["h0", "h1", "h2"];
    for (let i = 0; i < 9; i++) await t.client.submit({ id: `l${i}`, priority: 0, agentId: "a1" });
    for (const id of high) await t.client.submit({ id, priority: 900, agentId: "a1" });
    await t.registerAgent("a2");
    await t.startReplica();
    await eventually(async () => expect(await t.redis.scard(t.store.keys.queuedOf("a2"))).toBeGreaterThan(0), { timeoutMs: 20_000 });
    const moved = await t.redis.smembers(t.store.keys.queuedOf("a2"));
    expect(moved.filter((id) => high.includes(id))).toEqual([]);
    // A move changes the record first and adds the job on the target after: wait for the jobs.
    await eventually(
      async () => {
        for (const id of moved) {
          const record = (await t.store.getTask(id))!;
          const job = await t.queues.get("a2").getJob(`t.${id}.${record.epoch}`);
          expect(job?.priority).toBe(bullPriorityOf(record.priority));
        }
      },
      { timeoutMs: 20_000 },
    );
  });

  it("waiting tasks are placed highest priority first", async () => {
    const t = harness();
    for (let i = 0; i < 4; i++) await t.client.submit({ id: `w${i}`, priority: i * 100, requiredCapabilities: ["gpu"] });
    await t.registerAgent("gpu-1", { capabilities: ["gpu"] });
    await t.startReplica();
    await eventually(async () => expect(await t.redis.scard(t.store.keys.queuedOf("gpu-1"))).toBe(4), { timeoutMs: 20_000 });
    const placedAt = await Promise.all(["w3", "w2", "w1", "w0"].map(async (id) => (await t.store.getTask(id))!.updatedAt));
    expect([...placedAt].sort((a, b) => a - b)).toEqual(placedAt);
  });
});

describe("retries with backoff", () => {
  it("waits the backoff between attempts, and the record shows the attempt, the last error and the next run", async () => {
    const t = harness();
    const starts: number[] = [];
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    await startAgent(t, "a1", async (task) => {
      starts.push(Date.now());
      if (task.attempt === 1) throw new Error("first try fails");
      await released;
      return "second try";
    });
    await t.client.submit({ id: "r", maxAttempts: 3, backoff: { type: "fixed", delayMs: 800 } });
    const waiting = await eventually(
      async () => {
        const record = (await t.store.getTask("r"))!;
        expect(record).toMatchObject({ state: "queued", attempts: 1, error: "first try fails" });
        return record;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    expect(waiting.runAt).toBeGreaterThanOrEqual(waiting.updatedAt + 800);
    release();
    const done = await t.client.waitFor("r", { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: "done", attempts: 2, result: "second try" });
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(750);
  });

  it("without a backoff of its own, a task takes the configuration's", async () => {
    const t = harness({ taskBackoffType: "fixed", taskBackoffDelayMs: 1234, taskBackoffJitter: 0, taskMaxAttempts: 4 });
    await t.client.submit({ id: "d" });
    expect(await t.store.getTask("d")).toMatchObject({ maxAttempts: 4, backoff: { type: "fixed", delayMs: 1234, jitter: 0 } });
  });

  it("a task whose retry waits on a dead agent runs its next attempt on another, keeping its attempt count", async () => {
    const t = harness({ agentTtlMs: 1500, heartbeatIntervalMs: 200 });
    const first = await startAgent(t, "a1", (task) => {
      throw new Error(`attempt ${task.attempt} on a1 fails`);
    });
    await t.client.submit({ id: "x", maxAttempts: 3, backoff: { type: "fixed", delayMs: 3000 } });
    await eventually(async () => expect(await t.store.getTask("x")).toMatchObject({ state: "queued", attempts: 1, owner: "a1" }), { timeoutMs: 10_000 });
    // a1 stops (its heartbeats too): to the leader it is dead, and its queued task goes elsewhere.
    agents.splice(agents.indexOf(first), 1);
    await first.close();
    const ranOn: Array<[string, number]> = [];
    await startAgent(t, "a2", (task) => void ranOn.push([task.agentId, task.attempt]));
    await t.startReplica();
    expect(await t.client.waitFor("x", { timeoutMs: 30_000 })).toMatchObject({ state: "done", owner: "a2", attempts: 2 });
    expect(ranOn).toEqual([["a2", 2]]);
  });
});

describe("timeouts", () => {
  it("past its timeout an attempt fails with a timeout error, its signal aborted, and is retried", async () => {
    const t = harness();
    const reasons: unknown[] = [];
    await startAgent(t, "a1", async (task) => {
      await sleep(60_000, task.signal).catch((error: unknown) => reasons.push(error));
    });
    await t.client.submit({ id: "slow", timeoutMs: 300, maxAttempts: 2, backoff: { type: "fixed", delayMs: 0 } });
    const record = await t.client.waitFor("slow", { timeoutMs: 20_000 });
    expect(record).toMatchObject({ state: "failed", attempts: 2, error: "timed out after 300 ms" });
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toBeInstanceOf(AttemptTimeoutError);
  });

  it("a task that timed out and was moved during its backoff runs its next attempt on the target, once, not before it is due", async () => {
    const t = harness();
    const ran: Array<[string, number, number]> = [];
    await startAgent(t, "a1", async (task) => {
      ran.push([task.agentId, task.attempt, Date.now()]);
      await sleep(60_000, task.signal).catch(() => undefined);
    });
    await t.client.submit({ id: "tm", timeoutMs: 200, maxAttempts: 3, backoff: { type: "fixed", delayMs: 2000 } });
    const queued = await eventually(
      async () => {
        const record = (await t.store.getTask("tm"))!;
        expect(record).toMatchObject({ state: "queued", attempts: 1, owner: "a1" });
        return record;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    // The executor's two steps, as a steal makes them: the move script, then the job on the target.
    await t.registerAgent("a2");
    const fence = Number((await t.redis.get(t.store.keys.fence)) ?? 0);
    const epoch = await t.store.move("tm", "a1", "a2", queued.epoch, { id: "d-test", fence }, 60_000);
    await t.queues.enqueue("a2", "tm", epoch, 2);
    const job = await t.queues.get("a2").getJob(`t.tm.${epoch}`);
    expect(await job?.isDelayed()).toBe(true);
    const a2 = new Agent({
      id: "a2",
      concurrency: 1,
      config: t.config,
      handler: (task) => void ran.push([task.agentId, task.attempt, Date.now()]),
    });
    await a2.start();
    agents.push(a2);
    expect(await t.client.waitFor("tm", { timeoutMs: 20_000 })).toMatchObject({ state: "done", owner: "a2", attempts: 2 });
    expect(ran.map(([agent, attempt]) => [agent, attempt])).toEqual([
      ["a1", 1],
      ["a2", 2],
    ]);
    expect(ran[1]![2]).toBeGreaterThanOrEqual(queued.runAt! - 50);
  });
});

describe("cancellation", () => {
  it("a queued task is cancelled at once and never runs", async () => {
    const t = harness();
    await t.registerAgent("a1");
    await t.client.submit({ id: "q", agentId: "a1" });
    expect(await t.client.cancel("q")).toBe("cancelled");
    expect(await t.store.getTask("q")).toMatchObject({ state: "cancelled", epoch: 2 });
    expect(await t.redis.scard(t.store.keys.queuedOf("a1"))).toBe(0);
    const ran: string[] = [];
    await startAgent(t, "a1", (task) => void ran.push(task.id));
    await t.client.submit({ id: "after", agentId: "a1" });
    await t.client.waitFor("after", { timeoutMs: 10_000 });
    expect(ran).toEqual(["after"]);
    // Cancelled already: a cancel sent again answers as the first did, and changes nothing.
    expect(await t.client.cancel("q")).toBe("cancelled");
    expect(await t.store.getTask("q")).toMatchObject({ state: "cancelled", epoch: 2 });
    expect(await t.client.cancel("after")).toBe("finished");
    await expect(t.client.cancel("never-submitted")).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it("a running task's signal is aborted, and it ends cancelled when its handler returns, its result dropped", async () => {
    const t = harness({ cancelPollMs: 50 });
    let started = false;
    const reasons: unknown[] = [];
    await startAgent(t, "a1", async (task) => {
      started = true;
      await sleep(60_000, task.signal).catch((error: unknown) => reasons.push(error));
      return "finished anyway";
    });
    await t.client.submit({ id: "run" });
    await eventually(() => expect(started).toBe(true), { timeoutMs: 10_000 });
    expect(await t.client.cancel("run")).toBe("cancelling");
    const record = await t.client.waitFor("run", { timeoutMs: 10_000 });
    expect(record).toMatchObject({ state: "cancelled", attempts: 1 });
    expect(record.result).toBeUndefined();
    expect(reasons[0]).toBeInstanceOf(TaskCancelledError);
  });

  it("a move racing a cancel never brings the task back", async () => {
    const t = harness();
    await t.registerAgent("a1");
    await t.registerAgent("a2");
    const ids = Array.from({ length: 20 }, (_, i) => `m${i}`);
    for (const id of ids) await t.client.submit({ id, agentId: "a1" });
    const fence = Number((await t.redis.get(t.store.keys.fence)) ?? 0);
    await Promise.all(
      ids.map(async (id, i) => {
        const move = async () => {
          const epoch = await t.store.move(id, "a1", "a2", 1, { id: `d-${i}`, fence }, 60_000).catch(() => undefined);
          if (epoch !== undefined) await t.queues.enqueue("a2", id, epoch, 3);
        };
        const [outcome] = await Promise.all([t.client.cancel(id), move()]);
        expect(outcome).toBe("cancelled");
      }),
    );
    const ran: string[] = [];
    await startAgent(t, "a1", (task) => void ran.push(task.id));
    await startAgent(t, "a2", (task) => void ran.push(task.id));
    await t.client.submit({ id: "probe1", agentId: "a1" });
    await t.client.submit({ id: "probe2", agentId: "a2" });
    await t.client.waitFor("probe1", { timeoutMs: 10_000 });
    await t.client.waitFor("probe2", { timeoutMs: 10_000 });
    expect(ran.sort()).toEqual(["probe1", "probe2"]);
    for (const id of ids) expect((await t.store.getTask(id))?.state).toBe("cancelled");
    expect(await t.redis.scard(t.store.keys.queuedOf("a1"))).toBe(0);
    expect(await t.redis.scard(t.store.keys.queuedOf("a2"))).toBe(0);
  });

  it("a cancel racing a claim: a task cancelled while queued never starts, one already started ends cancelled", async () => {
    const t = harness({ cancelPollMs: 50 });
    const started = new Map<string, number>();
    await startAgent(
      t,
      "a1",
      async (task) => {
        started.set(task.id, Date.now());
        await sleep(200, task.signal).catch(() => undefined);
      },
      4,
    );
    const ids = Array.from({ length: 24 }, (_, i) => `c${i}`);
    const outcomes = await Promise.all(
      ids.map(async (id, i) => {
        await t.client.submit({ id });
        await new Promise((r) => setTimeout(r, i % 5));
        const outcome = await t.client.cancel(id);
        return { id, outcome };
      }),
    );
    const records = await Promise.all(ids.map((id) => t.client.waitFor(id, { timeoutMs: 20_000 })));
    for (const [i, { id, outcome }] of outcomes.entries()) {
      if (outcome === "cancelled") {
        expect(records[i]!.state).toBe("cancelled");
        // Cancelled while queued: its job is dropped at claim, the handler never starts.
        expect(started.has(id)).toBe(false);
      }
      if (outcome === "cancelling") expect(records[i]!.state).toBe("cancelled");
      if (outcome === "finished") expect(records[i]!.state).toBe("done");
    }
    expect(outcomes.some((o) => o.outcome === "cancelled")).toBe(true);
  });

  it("a task cancelled while running is not run again when its job comes back (its agent died)", async () => {
    const t = harness();
    await t.registerAgent("a1");
    await t.client.submit({ id: "z", agentId: "a1" });
    await t.store.claim("z", "a1", 1);
    expect(await cancelTask(t.store, "z", 60_000)).toBe("cancelling");
    // BullMQ hands the stalled job out again: the claim ends the task instead of running it.
    await expect(t.store.claim("z", "a1", 1)).rejects.toThrow(/already finished/);
    expect(await t.store.getTask("z")).toMatchObject({ state: "cancelled", attempts: 1 });
    expect(await t.redis.scard(t.store.keys.runningOf("a1"))).toBe(0);
  });
});

describe("delayed tasks", () => {
  it("wait with no owner until due (never stolen, in no backlog), then run", async () => {
    const t = harness();
    const started: number[] = [];
    await startAgent(t, "a1", () => void started.push(Date.now()));
    await t.startReplica();
    const submittedAt = Date.now();
    const submitted = await t.client.submit({ id: "later", delayMs: 1500 });
    expect(submitted.owner).toBeUndefined();
    const record = (await t.store.getTask("later"))!;
    expect(record.runAt).toBe(record.createdAt + 1500);
    expect(await t.redis.zscore(t.store.keys.delayed, "later")).toBe(String(record.runAt));
    expect(await t.redis.scard(t.store.keys.queuedOf("a1"))).toBe(0);
    expect(await t.client.waitFor("later", { timeoutMs: 20_000 })).toMatchObject({ state: "done", owner: "a1" });
    expect(started[0]! - submittedAt).toBeGreaterThanOrEqual(1400);
    expect(await t.redis.zcard(t.store.keys.delayed)).toBe(0);
  });

  it("refuses delayMs with runAt, and a delay with a named agent, naming the field", async () => {
    const t = harness();
    await expect(t.client.submit({ id: "both", delayMs: 10, runAt: Date.now() })).rejects.toThrow(/runAt: set delayMs or runAt, not both/);
    await t.registerAgent("a1");
    await expect(t.client.submit({ id: "named", delayMs: 10, agentId: "a1" })).rejects.toThrow(/agentId: a delayed task/);
    await expect(t.client.submit({ id: "neg", delayMs: -1 })).rejects.toThrow(/delayMs/);
    await expect(t.client.submit({ id: "bo", backoff: { type: "linear" as "fixed", delayMs: 1 } })).rejects.toThrow(/backoff.type/);
    expect(await t.store.getTask("both")).toBeUndefined();
  });
});

describe("progress and results", () => {
  it("progress reported by the handler is on the record and seen by watch and waitFor", async () => {
    const t = harness();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    await startAgent(t, "a1", async (task) => {
      await task.progress({ pct: 50 });
      await released;
      await task.progress({ pct: 100 });
      return { rows: 3 };
    });
    await t.client.submit({ id: "p" });
    const seen: unknown[] = [];
    const waiting = t.client.waitFor("p", { timeoutMs: 20_000, pollMs: 20, onProgress: (progress) => seen.push(progress) });
    const watched: TaskRecord[] = [];
    for await (const record of t.client.watch("p", { pollMs: 20 })) {
      watched.push(record);
      if ((record.progress as { pct?: number } | undefined)?.pct === 50) release();
    }
    const done = await waiting;
    expect(done).toMatchObject({ state: "done", result: { rows: 3 }, progress: { pct: 100 } });
    expect(seen).toContainEqual({ pct: 50 });
    expect(watched.at(-1)?.state).toBe("done");
    expect(watched.map((r) => r.progress)).toContainEqual({ pct: 50 });
  });

  it("a result over maxResultBytes fails the attempt with the size in the error", async () => {
    const t = harness({ maxResultBytes: 100 });
    await startAgent(t, "a1", () => "x".repeat(200));
    await t.client.submit({ id: "big", maxAttempts: 1 });
    expect(await t.client.waitFor("big", { timeoutMs: 10_000 })).toMatchObject({
      state: "failed",
      error: "result serialises to 202 bytes of JSON, over the 100 limit",
    });
  });

  it("waitFor fails at once for an unknown id, and reports a task no live agent can run as unassigned with the reason", async () => {
    const t = harness();
    const before = Date.now();
    await expect(t.client.waitFor("nobody-submitted-this", { timeoutMs: 30_000 })).rejects.toBeInstanceOf(TaskNotFoundError);
    await t.registerAgent("cpu-1");
    await t.client.submit({ id: "needs-gpu", requiredCapabilities: ["gpu"] });
    const error = await t.client.waitFor("needs-gpu", { timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskUnassignedError);
    expect((error as TaskUnassignedError).reason).toBe("no live agent has every required capability (gpu)");
    expect(Date.now() - before).toBeLessThan(10_000);
  });
});

describe("inputs", () => {
  it("waitFor, watch and cancel refuse bad arguments naming the field, reading nothing", async () => {
    const t = harness();
    await expect(t.client.waitFor("x", { pollMs: 0 })).rejects.toThrow(/^invalid waitFor options: pollMs: /);
    await expect(t.client.waitFor("x", { unassigned: "ignore" as "wait" })).rejects.toThrow(/^invalid waitFor options: unassigned: /);
    await expect(t.client.cancel("a:b")).rejects.toThrow(/^invalid taskId: /);
    expect(() => t.client.watch("x", { pollMs: -1 })).toThrow(/^invalid watch options: pollMs: /);
  });
});
