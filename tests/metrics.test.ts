import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent } from "@worksteal/agent";
import { httpAddress, type Replica, startHttp } from "@worksteal/coordinator";
import { encodeEvent } from "@worksteal/protocol";
import { readAgents, readFoldProgress } from "@worksteal/store";
import { eventually, startRedisServer } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";
import { parsePrometheusText, sampleSum, sampleValue } from "./prometheus-text.js";

vi.setConfig({ testTimeout: 60_000 });

let h: Harness;
let server: Server | undefined;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  server?.close();
  server = undefined;
  while (closers.length > 0) await closers.pop()!();
  await h.close();
});

async function scrape(base: string) {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

describe("/metrics", () => {
  it("counts folds, steals and task latencies during a run with a steal, and agrees with the folded figures", async () => {
    h = namespaceHarness("metrics", { stealInterval: 200 });
    // `stuck` heartbeats but runs nothing: its queue only empties by steals to `worker`.
    await h.registerAgent("stuck");
    const worker = new Agent({ id: "worker", concurrency: 2, config: h.config, handler: () => new Promise((r) => setTimeout(r, 5)) });
    await worker.start();
    closers.push(() => worker.close());
    for (let i = 0; i < 12; i++) await h.client.submit({ id: `t${i}`, agentId: "stuck", type: "resize" });
    const replica = await h.startReplica();
    server = await startHttp(replica, 0, "127.0.0.1");
    const base = httpAddress(server);

    // Converges once the stolen tasks ran and their events were folded: this replica's counters
    // equal the namespace's folded figures, and each completed task's latencies were observed once.
    await eventually(
      async () => {
        const metrics = await scrape(base);
        const done = (await readAgents(h.store, h.config.agentTtlMs)).reduce((n, a) => n + a.workload.done, 0);
        expect(done).toBeGreaterThan(0);
        expect(sampleValue(metrics, "worksteal_tasks_done_total", { type: "resize" })).toBe(done);
        expect(sampleValue(metrics, "worksteal_task_run_seconds_count", { type: "resize", outcome: "completed" })).toBe(done);
        expect(sampleValue(metrics, "worksteal_task_wait_seconds_count")).toBe(done);
        expect(sampleValue(metrics, "worksteal_steal_latency_seconds_count")).toBeGreaterThan(0);
        expect(sampleValue(metrics, "worksteal_tasks_moved_total")).toBeGreaterThanOrEqual(done);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    const metrics = await scrape(base);
    expect(sampleValue(metrics, "worksteal_events_folded_total")).toBeGreaterThan(0);
    expect(sampleValue(metrics, "worksteal_events_dead_lettered_total")).toBe(0);
    expect(sampleValue(metrics, "worksteal_directives_planned_total", { kind: "steal" })).toBeGreaterThan(0);
    expect(sampleSum(metrics, "worksteal_directives_executed_total")).toBeGreaterThan(0);
    expect(sampleValue(metrics, "worksteal_replica_leader", { replica: replica.id })).toBe(1);
    expect(sampleValue(metrics, "worksteal_replica_fence", { replica: replica.id })).toBe(replica.leaderFence);
    expect(sampleValue(metrics, "worksteal_fence")).toBe(replica.leaderFence);
    expect(sampleValue(metrics, "worksteal_agents", { status: "alive" })).toBe(2);
    expect(sampleValue(metrics, "worksteal_agents", { status: "dead" })).toBe(0);
    expect(sampleValue(metrics, "worksteal_unassigned_tasks")).toBe(0);
    expect(sampleValue(metrics, "worksteal_steal_operations")).toBeGreaterThan(0);
    expect(metrics.get("worksteal_reconciler_corrections_total")?.type).toBe("counter");
    expect(metrics.get("worksteal_task_wait_seconds")?.type).toBe("histogram");
    // prom-client's process metrics come along.
    expect(sampleValue(metrics, "process_cpu_user_seconds_total")).toBeGreaterThan(0);

    // Every family the example Grafana dashboard queries is served.
    const dashboard = await readFile(new URL("../docker/grafana-dashboard.json", import.meta.url), "utf8");
    const queried = new Set([...dashboard.matchAll(/\b((?:worksteal|process)_[a-z_]+?)(?:_bucket)?\b/g)].map((m) => m[1]!));
    expect(queried.size).toBeGreaterThan(15);
    expect([...queried].filter((name) => !metrics.has(name))).toEqual([]);
  });

  it("reads a fixed number of Redis commands per scrape, however many steals are recorded", async () => {
    // A Redis of its own: INFO counts every client's commands, and other test files run meanwhile.
    const redisServer = await startRedisServer();
    try {
      h = namespaceHarness("metrics-cost", { enabled: false, redisUrl: redisServer.url });
      const replica = await h.startReplica();
      server = await startHttp(replica, 0, "127.0.0.1");
      const base = httpAddress(server);
      const commandsOfOneScrape = async () => {
        const before = await commandCount(h);
        await scrape(base);
        return (await commandCount(h)) - before;
      };
      const few = await commandsOfOneScrape();
      // Finished now: the leader's maintenance forgets steals only past their retention.
      const finishedAt = await h.store.now();
      const pipeline = h.redis.pipeline();
      for (let i = 0; i < 2000; i++) pipeline.zadd(h.store.keys.steals, finishedAt, `d${i}`).hset(h.store.keys.steal(`d${i}`), "status", "completed");
      await pipeline.exec();
      expect(sampleValue(await scrape(base), "worksteal_steal_operations")).toBe(2000);
      // The replica's own loops run meanwhile: allow for them, not for one command per steal.
      expect(await commandsOfOneScrape()).toBeLessThan(few + 50);
    } finally {
      server?.close();
      server = undefined;
      await h.close();
      // Closed already: afterEach must not close it again.
      h = { close: () => Promise.resolve() } as unknown as Harness;
      await redisServer.stop();
    }
  });
});

/** Commands the run's Redis has processed; INFO is itself one. */
async function commandCount(harness: Harness): Promise<number> {
  const info = await harness.redis.info("stats");
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
}

describe("replicas folding together", () => {
  it("count each event once: their events_folded_total add up to the events appended", async () => {
    h = namespaceHarness("metrics-sum", { enabled: false, foldBatchSize: 10 });
    const replicas = [await h.startReplica(), await h.startReplica({ lead: false })];
    const bases: string[] = [];
    for (const replica of replicas) {
      const started = await startHttp(replica, 0, "127.0.0.1");
      closers.push(() => new Promise((resolve) => started.close(resolve)));
      bases.push(httpAddress(started));
    }
    // One event for the registration, then a batch of heartbeats written in one go.
    await h.store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    const at = await h.store.now();
    const batch = h.redis.pipeline();
    for (let i = 0; i < 600; i++) batch.xadd(h.store.keys.events, "*", ...encodeEvent({ kind: "agent:heartbeat", agentId: "a1", at }));
    await batch.exec();

    await eventually(
      async () => {
        const folded = await Promise.all(bases.map(async (base) => sampleValue(await scrape(base), "worksteal_events_folded_total")));
        expect(folded.reduce((n, f) => n + f, 0)).toBe(601);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  });
});

describe("/readyz", () => {
  it("is 503 while starting, 200 once the replica has folded the backlog, 503 once stopped", async () => {
    h = namespaceHarness("readyz", { foldBatchSize: 20 });
    await h.store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    // A backlog of 100 batches, written before any replica folds.
    const at = await h.store.now();
    const backlog = h.redis.pipeline();
    for (let i = 0; i < 2000; i++) backlog.xadd(h.store.keys.events, "*", ...encodeEvent({ kind: "agent:heartbeat", agentId: "a1", at }));
    await backlog.exec();

    const serving: { replica?: Replica } = {};
    server = await startHttp(() => serving.replica, 0, "127.0.0.1");
    const base = httpAddress(server);
    const starting = await fetch(`${base}/readyz`);
    expect(starting.status).toBe(503);
    expect(await starting.json()).toMatchObject({ ready: false, reason: "starting" });

    const replica = await h.startReplica({ foldBatchSize: 20 });
    serving.replica = replica;
    await eventually(async () => expect((await fetch(`${base}/readyz`)).status).toBe(200), { timeoutMs: 30_000, intervalMs: 100 });
    // Ready means caught up: fewer than five batches were left to fold.
    const progress = await readFoldProgress(h.store);
    expect(progress.lag).toBeLessThan(100);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    await replica.stop();
    const stopped = await fetch(`${base}/readyz`);
    expect(stopped.status).toBe(503);
    expect(((await stopped.json()) as { reason: string }).reason).toBe("the fold loop is not running");
  });
});
