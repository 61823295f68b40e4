import { Redis } from "ioredis";
import { inject } from "vitest";
import { Client } from "@worksteal/client";
import { Replica } from "@worksteal/coordinator";
import { type ConfigInput, keysFor, resolveConfig } from "@worksteal/protocol";
import { AgentQueues, Store } from "@worksteal/store";
import { spawnNode, testNamespace, waitUntilReady, type NodeProcess } from "@worksteal/testkit";
import { agentUp, redisClock } from "../scripts/lib/readiness.js";

/** One test's namespace on the run's Redis, with what cross-package tests need, all closed by `close()`. */
export function namespaceHarness(prefix: string, overrides: ConfigInput = {}) {
  const namespace = testNamespace(prefix);
  const config = resolveConfig({ overrides: { redisUrl: inject("redisUrl"), namespace, logLevel: "silent", heartbeatIntervalMs: 200, ...overrides } });
  const redis = new Redis(config.redisUrl);
  // Tests that stop Redis expect this connection to fail meanwhile; it reconnects by itself.
  redis.on("error", () => undefined);
  const store = new Store(redis, namespace, { agentTtlMs: config.agentTtlMs });
  const queues = new AgentQueues(redis, store.keys);
  const client = new Client({ config, redis });
  const closers: Array<() => Promise<unknown>> = [() => client.close(), () => queues.close(), () => redis.quit()];
  const processes: NodeProcess[] = [];

  return {
    namespace,
    config,
    redis,
    store,
    queues,
    client,
    /**
     * An agent as its own process (scripts/lib/agent-process.ts): tasks sleep payload.ms × speed.
     * Resolves once Redis shows it registered and its worker connected, however long a busy
     * machine takes to start it.
     */
    async startAgentProcess(id: string, options: { concurrency?: number; capabilities?: string[]; speed?: number; env?: Record<string, string> } = {}) {
      const since = await redisClock(redis);
      const proc = spawnNode(
        "scripts/lib/agent-process.ts",
        [
          "--id",
          id,
          "--concurrency",
          String(options.concurrency ?? 1),
          "--capabilities",
          (options.capabilities ?? []).join(","),
          "--speed",
          String(options.speed ?? 1),
        ],
        {
          env: {
            REDIS_URL: config.redisUrl,
            WORKSTEAL_NAMESPACE: namespace,
            WORKSTEAL_LOG_LEVEL: "warn",
            WORKSTEAL_HEARTBEAT_INTERVAL_MS: "200",
            ...options.env,
          },
        },
      );
      processes.push(proc);
      await waitUntilReady(proc, agentUp(redis, queues, namespace, id, since), { what: `agent ${id}` });
      return proc;
    },
    /**
     * Registers `id` and heartbeats for it from the test until close(): an agent that is alive
     * (it may be given tasks) but runs nothing, so what is sent to it waits in its queue.
     */
    async registerAgent(id: string, options: { capabilities?: string[]; concurrency?: number } = {}) {
      await store.registerAgent({ id, capabilities: options.capabilities ?? [], concurrency: options.concurrency ?? 1, priority: 0 });
      const timer = setInterval(() => void store.heartbeat(id, 0, 0).catch(() => undefined), config.heartbeatIntervalMs);
      closers.push(() => Promise.resolve(clearInterval(timer)));
    },
    async startReplica(extra: ConfigInput & { lead?: boolean } = {}) {
      const { lead, ...rest } = extra;
      const replica = new Replica({ config: { ...config, ...rest }, ...(lead === undefined ? {} : { lead }) });
      await replica.start();
      closers.push(() => replica.stop());
      return replica;
    },
    /** Handler runs per task, from the agents' run log. */
    async runCounts(): Promise<Record<string, number>> {
      const raw = await redis.hgetall(keysFor(namespace).runLog);
      return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
    },
    /** For each task id, every job waiting in any agent's queue: [agent, epoch]. */
    async waitingJobs(agentIds: string[]): Promise<Map<string, Array<[string, number]>>> {
      const jobs = new Map<string, Array<[string, number]>>();
      for (const agentId of agentIds) {
        for (const job of await queues.get(agentId).getJobs(["wait", "active", "delayed", "prioritized"])) {
          if (!job) continue;
          const list = jobs.get(job.data.taskId) ?? [];
          list.push([agentId, job.data.epoch]);
          jobs.set(job.data.taskId, list);
        }
      }
      return jobs;
    },
    async close() {
      // Graceful first; an agent still inside a long task is killed after a moment.
      for (const p of processes) p.kill("SIGTERM");
      const killLater = setTimeout(() => processes.forEach((p) => p.kill("SIGKILL")), 3000);
      await Promise.all(processes.map((p) => p.exited));
      clearTimeout(killLater);
      while (closers.length > 0) await closers.pop()!();
    },
  };
}

export type Harness = ReturnType<typeof namespaceHarness>;

/**
 * For a test that submits a backlog to one agent and asserts that another ran some of it: the
 * victim's handler awaits `victimMayRun()` before its first task, and the thief's calls
 * `thiefRan()`. Only a steal can give the thief work, so the backlog cannot drain before the
 * leader plans, however slow the machine. Bounded by `giveUpMs`, so a missing steal fails the
 * test's assertions instead of hanging it.
 */
export function holdVictimUntilStolenWorkRuns(giveUpMs = 60_000) {
  let thiefRan: () => void = () => undefined;
  const stolenWorkRan = new Promise<void>((resolve) => (thiefRan = resolve));
  const gaveUp = new Promise<void>((resolve) => setTimeout(resolve, giveUpMs).unref());
  const victimMayRun = Promise.race([stolenWorkRan, gaveUp]);
  return { thiefRan, victimMayRun: () => victimMayRun };
}
