import { afterEach, describe, expect, it, vi } from "vitest";
import { DirectiveExecutor } from "@worksteal/coordinator";
import type { Directive } from "@worksteal/protocol";
import { eventually, PROCESS_READY_TIMEOUT_MS, spawnNode } from "@worksteal/testkit";
import { pino } from "pino";
import { type Harness, namespaceHarness } from "./helpers.js";

// Agent processes, and seven directive processes started and killed one after another: on a busy
// two-core machine that takes far longer than the suite's default allows.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

let h: Harness;
afterEach(async () => {
  await h.close();
});

const silent = pino({ level: "silent" });

function executorFor(harness: Harness) {
  return new DirectiveExecutor(harness.store, harness.queues, { maxDirectiveAgeMs: 60_000, retentionMs: 3_600_000 }, silent);
}

async function directive(harness: Harness, fields: Partial<Directive> & Pick<Directive, "id" | "source" | "target" | "count">): Promise<Directive> {
  const fence = Number((await harness.redis.get(harness.store.keys.fence)) ?? 0);
  return { fence, reason: "test", createdAt: await harness.store.now(), ...fields };
}

async function submitMany(harness: Harness, agentId: string, count: number, ms: number, prefix = "t") {
  for (let i = 0; i < count; i++) await harness.client.submit({ id: `${prefix}${i}`, agentId, payload: { ms } });
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

describe("stealing between agent processes", () => {
  it("spreads a backlog on one agent across idle agents; every task runs once", async () => {
    h = namespaceHarness("spread", { stealInterval: 200 });
    await Promise.all(["a1", "a2", "a3"].map((id) => h.startAgentProcess(id)));
    await h.startReplica();
    // 9 s of work on a1 alone (a fair share is 30 tasks each): long enough that a coordinator slow
    // to start on a busy machine still leaves the thieves well over a third of their share.
    const ids = await submitMany(h, "a1", 90, 100);
    await eventually(
      async () => {
        for (const id of ids) expect((await h.store.getTask(id))?.state).toBe("done");
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const owners = new Map<string, number>();
    for (const id of ids) {
      const owner = (await h.store.getTask(id))!.owner;
      owners.set(owner, (owners.get(owner) ?? 0) + 1);
    }
    expect(owners.get("a2") ?? 0).toBeGreaterThan(10);
    expect(owners.get("a3") ?? 0).toBeGreaterThan(10);
    expect(Object.values(await h.runCounts()).every((n) => n === 1)).toBe(true);
    expect(Object.keys(await h.runCounts())).toHaveLength(ids.length);
    const steals = await h.redis.zrange(h.store.keys.steals, 0, "-1");
    expect(steals.length).toBeGreaterThan(0);
    // Every operation ended, having moved tasks or found none left to move: on a busy machine a
    // directive can arrive after a1 has taken what it was planned for ("failed", nothing moved).
    const ops = await Promise.all(steals.map((id) => h.redis.hgetall(h.store.keys.steal(id))));
    for (const op of ops) {
      expect(["completed", "partial", "failed"], JSON.stringify(op)).toContain(op.status);
      if (op.status === "failed") expect(JSON.parse(op.taskIds!), JSON.stringify(op)).toEqual([]);
    }
    expect(ops.filter((op) => (JSON.parse(op.taskIds!) as string[]).length > 0).length).toBeGreaterThan(0);
  });

  it("does not move a task the victim already took: the victim runs it, once", async () => {
    h = namespaceHarness("taken");
    await h.startAgentProcess("a1");
    await h.client.submit({ id: "long", agentId: "a1", payload: { ms: 1500 } });
    await eventually(async () => expect((await h.store.getTask("long"))?.state).toBe("running"));
    await h.redis.incr(h.store.keys.fence);
    const outcome = await executorFor(h).execute(await directive(h, { id: "d-taken", source: "a1", target: "a2", count: 1 }));
    expect(outcome).toMatchObject({ status: "failed", taskIds: [] });
    await eventually(async () => expect(await h.store.getTask("long")).toMatchObject({ state: "done", owner: "a1", epoch: 1 }), { timeoutMs: 30_000 });
    expect(await h.runCounts()).toEqual({ long: 1 });
  });

  it("a steal racing with the victim's claims ends with exactly one run per task", async () => {
    h = namespaceHarness("race");
    await h.startAgentProcess("a1", { concurrency: 2 });
    await h.startAgentProcess("a2", { concurrency: 2 });
    await h.redis.incr(h.store.keys.fence);
    const executor = executorFor(h);
    const ids = await submitMany(h, "a1", 150, 5);
    // Fire directives from both sides while both agents are claiming as fast as they can.
    const fired: Promise<unknown>[] = [];
    for (let round = 0; round < 30; round++) {
      const [source, target] = round % 2 === 0 ? ["a1", "a2"] : ["a2", "a1"];
      fired.push(executor.execute(await directive(h, { id: `race-${round}`, source, target, count: 5 })));
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(fired);
    await eventually(
      async () => {
        for (const id of ids) expect((await h.store.getTask(id))?.state).toBe("done");
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const runs = await h.runCounts();
    expect(Object.keys(runs).sort()).toEqual([...ids].sort());
    expect(Object.entries(runs).filter(([, n]) => n !== 1)).toEqual([]);
    // The race was real: tasks did move while both agents claimed (how many depends on the machine's speed).
    const moved = (await Promise.all([...Array(30).keys()].map((r) => h.redis.hlen(h.store.keys.stealMoves(`race-${r}`))))).reduce((a, b) => a + b, 0);
    expect(moved).toBeGreaterThan(0);
  });

  // Named: every other task, so that what the directive moves is not simply the newest.
  it.each([{ named: false }, { named: true }])(
    "a directive killed halfway and retried leaves every task in exactly one queue (names its tasks: $named)",
    async ({ named }) => {
      h = namespaceHarness(named ? "retry-named" : "retry");
      await h.registerAgent("a1");
      await h.registerAgent("a2");
      const ids = await submitMany(h, "a1", 12, 10);
      await h.redis.incr(h.store.keys.fence);
      const taskIds = named ? ids.filter((_, i) => i % 2 === 0) : undefined;
      const d = await directive(h, { id: "d-halfway", source: "a1", target: "a2", count: 6, ...(taskIds ? { taskIds } : {}) });
      // The first run died right after its first three moves: records moved, jobs not yet re-homed.
      const tail = taskIds
        ? await Promise.all(taskIds.slice(0, 3).map(async (taskId) => ({ taskId, epoch: (await h.store.getTask(taskId))!.epoch })))
        : (await h.queues.get("a1").getJobs(["prioritized"], 0, 2, false)).map((j) => j.data);
      expect(tail).toHaveLength(3);
      for (const job of tail) await h.store.move(job.taskId, "a1", "a2", job.epoch, d, 60_000);

      const outcome = await executorFor(h).execute(d);
      expect(outcome.status).toBe("completed");
      expect(outcome.taskIds).toHaveLength(6);
      expect(outcome.taskIds).toEqual(expect.arrayContaining(tail.map((t) => t.taskId)));
      if (taskIds) expect([...outcome.taskIds].sort()).toEqual([...taskIds].sort());
      // A third run finds the operation recorded and moves nothing more.
      expect(await executorFor(h).execute(d)).toMatchObject({ status: "completed", detail: "already executed" });

      const jobs = await h.waitingJobs(["a1", "a2"]);
      for (const id of ids) {
        const record = (await h.store.getTask(id))!;
        expect(jobs.get(id), id).toEqual([[record.owner, record.epoch]]);
      }
      expect(ids.filter((id) => jobs.get(id)?.[0]?.[0] === "a2")).toHaveLength(6);
    },
  );

  it.each([{ named: false }, { named: true }])(
    "a directive SIGKILLed at any moment and retried moves each task at most once and leaves it in one queue (names its tasks: $named)",
    async ({ named }) => {
      h = namespaceHarness(named ? "kill-named" : "kill");
      await h.registerAgent("a1");
      await h.registerAgent("a2");
      await h.redis.incr(h.store.keys.fence);
      // The child is slowed (100 ms spread over the moves, 100 ms before the hand-over) so that the
      // kills land before, among and after the moves.
      const delaysMs = [0, 30, 60, 90, 130, 170, 260];
      let killedHalfway = 0;
      for (const [trial, delay] of delaysMs.entries()) {
        const ids = await submitMany(h, "a1", 40, 10, `k${trial}-`);
        // Named: 30 of the 40 from the middle, neither the newest nor the oldest.
        const taskIds = named ? ids.slice(5, 35) : undefined;
        const d = await directive(h, { id: `d-kill-${trial}`, source: "a1", target: "a2", count: 30, ...(taskIds ? { taskIds } : {}) });
        const child = spawnNode("tests/fixtures/execute-directive.ts", [JSON.stringify(d), "100"], {
          env: { REDIS_URL: h.config.redisUrl, WORKSTEAL_NAMESPACE: h.namespace },
        });
        // The fixture's own handshake (not a log line): the kill delays count from the start of execute().
        await child.waitForLine((l) => l.json?.msg === "executing", PROCESS_READY_TIMEOUT_MS);
        await new Promise((r) => setTimeout(r, delay));
        child.kill("SIGKILL");
        await child.exited;
        const logged = await h.redis.hlen(h.store.keys.stealMoves(d.id));
        const recorded = await h.redis.exists(h.store.keys.steal(d.id));
        if (logged > 0 && !recorded) killedHalfway += 1;

        const outcome = await executorFor(h).execute(d);
        expect(outcome.taskIds.length).toBeLessThanOrEqual(30);
        expect(new Set(outcome.taskIds).size).toBe(outcome.taskIds.length);
        const jobs = await h.waitingJobs(["a1", "a2"]);
        for (const id of ids) {
          const record = (await h.store.getTask(id))!;
          expect(record.epoch, id).toBeLessThanOrEqual(2); // moved at most once
          expect(jobs.get(id), id).toEqual([[record.owner, record.epoch]]);
        }
        expect(ids.filter((id) => jobs.get(id)?.[0]?.[0] === "a2").sort()).toEqual([...outcome.taskIds].sort());
        if (taskIds) expect([...outcome.taskIds].sort()).toEqual([...taskIds].sort());
      }
      // Kills between the first move and the record: the case this test is about.
      expect(killedHalfway).toBeGreaterThanOrEqual(1);
    },
  );

  it("rejects a directive with an old fence and moves nothing", async () => {
    h = namespaceHarness("fence");
    await h.registerAgent("a1");
    await h.registerAgent("a2");
    const ids = await submitMany(h, "a1", 5, 10);
    await h.redis.incr(h.store.keys.fence);
    const old = await directive(h, { id: "d-old", source: "a1", target: "a2", count: 3 });
    await h.redis.incr(h.store.keys.fence); // a new leadership began
    const outcome = await executorFor(h).execute(old);
    expect(outcome).toMatchObject({ status: "rejected", taskIds: [] });
    expect(await h.redis.hgetall(h.store.keys.steal("d-old"))).toMatchObject({ status: "rejected", fence: String(old.fence) });
    for (const id of ids) expect(await h.store.getTask(id)).toMatchObject({ owner: "a1", epoch: 1 });
  });

  it("rejects by fence a directive of an old leadership whose named tasks all left the source (no move script ran)", async () => {
    h = namespaceHarness("fence-named");
    await h.registerAgent("a1");
    await h.registerAgent("a2");
    const ids = await submitMany(h, "a1", 3, 10);
    await h.redis.incr(h.store.keys.fence);
    const old = await directive(h, { id: "d-old-named", source: "a1", target: "a2", count: 2, taskIds: ids.slice(0, 2) });
    await h.redis.incr(h.store.keys.fence); // a new leadership began, and moved the named tasks first
    const current = await directive(h, { id: "d-new-named", source: "a1", target: "a2", count: 2, taskIds: ids.slice(0, 2) });
    expect(await executorFor(h).execute(current)).toMatchObject({ status: "completed" });
    expect(await executorFor(h).execute(old)).toMatchObject({ status: "rejected", taskIds: [], shortfall: "fence" });
  });

  it("never moves a task to a target without its required capabilities", async () => {
    h = namespaceHarness("caps");
    await h.registerAgent("a1", { capabilities: ["gpu"] });
    await h.registerAgent("a2");
    for (let i = 0; i < 4; i++) await h.client.submit({ id: `gpu${i}`, agentId: "a1", requiredCapabilities: ["gpu"] });
    for (let i = 0; i < 4; i++) await h.client.submit({ id: `cpu${i}`, agentId: "a1" });
    for (let i = 4; i < 8; i++) await h.client.submit({ id: `gpu${i}`, agentId: "a1", requiredCapabilities: ["gpu"] });
    await h.redis.incr(h.store.keys.fence);
    const outcome = await executorFor(h).execute(await directive(h, { id: "d-caps", source: "a1", target: "a2", count: 6 }));
    expect(outcome.status).toBe("partial");
    expect([...outcome.taskIds].sort()).toEqual(["cpu0", "cpu1", "cpu2", "cpu3"]);
  });

  it("a directive naming its tasks moves exactly those still queued on the source: one that started meanwhile stays", async () => {
    h = namespaceHarness("named");
    await h.startAgentProcess("a1", { concurrency: 1 });
    await h.registerAgent("a2");
    await h.client.submit({ id: "long", agentId: "a1", payload: { ms: 5000 } });
    const queued = await submitMany(h, "a1", 4, 10, "q");
    await eventually(async () => expect((await h.store.getTask("long"))?.state).toBe("running"));
    await h.redis.incr(h.store.keys.fence);
    const named = await directive(h, { id: "d-named", source: "a1", target: "a2", count: 3, taskIds: ["long", "q3", "q1"] });
    const outcome = await executorFor(h).execute(named);
    expect(outcome).toMatchObject({ status: "partial", shortfall: "not_movable" });
    expect(outcome.taskIds).toEqual(["q3", "q1"]);
    for (const id of ["q1", "q3"]) expect(await h.store.getTask(id)).toMatchObject({ owner: "a2", state: "queued", epoch: 2 });
    for (const id of queued.filter((id) => id !== "q1" && id !== "q3")) expect(await h.store.getTask(id)).toMatchObject({ owner: "a1", epoch: 1 });
    await eventually(async () => expect(await h.store.getTask("long")).toMatchObject({ state: "done", owner: "a1", epoch: 1 }), { timeoutMs: 30_000 });
  });

  it("unknown, foreign or malformed task ids move nothing but the named tasks of the source", async () => {
    h = namespaceHarness("hostile-ids");
    for (const id of ["a1", "a2", "a3"]) await h.registerAgent(id);
    const mine = await submitMany(h, "a1", 3, 10, "t");
    await h.client.submit({ id: "x0", agentId: "a3" });
    await h.redis.incr(h.store.keys.fence);
    const executor = executorFor(h);
    const foreign = await directive(h, { id: "d-foreign", source: "a1", target: "a2", count: 3, taskIds: ["nope", "x0", "t1"] });
    expect(await executor.execute(foreign)).toMatchObject({ status: "partial", taskIds: ["t1"] });
    const repeated = { ...(await directive(h, { id: "d-repeated", source: "a1", target: "a2", count: 2 })), taskIds: ["t0", "t0"] };
    expect(await executor.execute(repeated)).toMatchObject({ status: "rejected", taskIds: [], shortfall: "malformed" });
    const unsafe = { ...(await directive(h, { id: "d-unsafe", source: "a1", target: "a2", count: 1 })), taskIds: ["t0\n*"] };
    expect(await executor.execute(unsafe)).toMatchObject({ status: "rejected", taskIds: [], shortfall: "malformed" });
    // Without taskIds the executor would take the newest tasks one by one, as many as asked.
    const huge = await directive(h, { id: "d-huge", source: "a1", target: "a2", count: 1e9 });
    expect(await executor.execute(huge)).toMatchObject({ status: "rejected", taskIds: [], shortfall: "malformed" });
    expect(await h.store.getTask("x0")).toMatchObject({ owner: "a3", epoch: 1 });
    for (const id of mine.filter((id) => id !== "t1")) expect(await h.store.getTask(id)).toMatchObject({ owner: "a1", epoch: 1 });
    expect(await h.store.getTask("t1")).toMatchObject({ owner: "a2", epoch: 2 });
  });
});
