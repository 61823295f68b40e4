/**
 * The processes of one bench:throughput run: N no-op workers (worksteal agents, or plain BullMQ
 * workers, one queue each) and, for worksteal, coordinator replicas. Each counts as started once
 * Redis shows it (readiness.ts); after that they are watched only through their stdout, so that
 * watching costs Redis nothing.
 */
import { join } from "node:path";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { keysFor } from "@worksteal/protocol";
import { AgentQueues, QUEUE_EVENTS_MAX_LEN } from "@worksteal/store";
import { spawnNode, waitUntilReady, type NodeProcess } from "@worksteal/testkit";
import { agentUp, redisClock, replicaBeating, workerConnected } from "../readiness.js";

export interface Workers {
  /** Agent ids, or the BullMQ queue names, one per worker process. */
  queueNames: string[];
  agents: NodeProcess[];
  coordinators: NodeProcess[];
  /** Handler calls so far, summed over the workers, from their latest report. */
  handled(): number;
  /** Plain BullMQ workers: jobs completed, summed, and the latest completion (ms), from their latest reports. */
  finished(): { count: number; lastAt: number };
  /** Jobs taken but not finished, summed over the queues (one LLEN each). */
  active(): Promise<number>;
  stop(): Promise<void>;
}

export interface WorkerSettings {
  redis: Redis;
  redisUrl: string;
  namespace: string;
  agents: number;
  concurrency: number;
  coordinators: number;
  /** Plain BullMQ workers instead of worksteal agents (and no coordinator). */
  bullmq: boolean;
  env?: Record<string, string>;
  /** Each process writes V8 CPU profiles into `<cpuProfileDir>/<role>-<id>/` when it exits. */
  cpuProfileDir?: string;
}

export async function startWorkers(settings: WorkerSettings): Promise<Workers> {
  const { redis, namespace } = settings;
  const keys = keysFor(namespace);
  const env = { REDIS_URL: settings.redisUrl, WORKSTEAL_NAMESPACE: namespace, WORKSTEAL_LOG_LEVEL: "warn", ...settings.env };
  const queueNames = Array.from({ length: settings.agents }, (_, i) => (settings.bullmq ? `plain${i + 1}` : `a${i + 1}`));
  const agentQueues = new AgentQueues(redis, keys);
  const plainQueues = settings.bullmq
    ? queueNames.map((name) => new Queue(name, { connection: redis, prefix: keys.bullPrefix, streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } } }))
    : [];
  const agents: NodeProcess[] = [];
  const coordinators: NodeProcess[] = [];
  const since = await redisClock(redis);
  // A directory per process, profiles named by node: tsx's loader thread writes one too (thread id in the name; the main thread's is 0).
  const nodeArgs = (name: string) => (settings.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${join(settings.cpuProfileDir, name)}`] : []);

  const stop = async () => {
    const procs = [...agents, ...coordinators];
    for (const p of procs) p.kill("SIGTERM");
    const killLater = setTimeout(() => procs.forEach((p) => p.kill("SIGKILL")), 5000);
    await Promise.all(procs.map((p) => p.exited));
    clearTimeout(killLater);
    await Promise.all(plainQueues.map((q) => q.close()));
    await agentQueues.close();
  };

  try {
    await Promise.all([
      ...queueNames.map(async (name, i) => {
        const args = ["--id", settings.bullmq ? `w${i + 1}` : name, "--concurrency", String(settings.concurrency)];
        const proc = spawnNode("scripts/lib/throughput/noop-agent.ts", settings.bullmq ? [...args, "--bullmq", name] : args, {
          env,
          nodeArgs: nodeArgs(`worker-${name}`),
        });
        agents.push(proc);
        const ready = settings.bullmq ? workerConnected(plainQueues[i]!, `w${i + 1}`) : agentUp(redis, agentQueues, namespace, name, since);
        await waitUntilReady(proc, ready, { what: `worker ${name}` });
      }),
      ...Array.from({ length: settings.bullmq ? 0 : settings.coordinators }, async (_, i) => {
        const id = `c${i + 1}`;
        const proc = spawnNode("packages/coordinator/src/main.ts", [], { env: { ...env, WORKSTEAL_REPLICA_ID: id }, nodeArgs: nodeArgs(`coordinator-${id}`) });
        coordinators.push(proc);
        await waitUntilReady(proc, replicaBeating(redis, namespace, id, since), { what: `coordinator ${id}` });
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }

  const queues = settings.bullmq ? plainQueues : queueNames.map((name) => agentQueues.get(name));
  return {
    queueNames,
    agents,
    coordinators,
    handled: () => agents.reduce((sum, proc) => sum + latestReport(proc).handled, 0),
    finished: () => {
      const reports = agents.map(latestReport);
      return { count: reports.reduce((sum, r) => sum + r.finished, 0), lastAt: Math.max(0, ...reports.map((r) => r.lastFinishedAt)) };
    },
    active: async () => {
      const pipeline = redis.pipeline();
      for (const queue of queues) pipeline.llen(queue.toKey("active"));
      const replies = (await pipeline.exec()) ?? [];
      return replies.reduce((sum, [error, length]) => sum + (error ? Infinity : Number(length)), 0);
    },
    stop,
  };
}

/** A worker's latest report (noop-agent.ts), zeros before its first. */
function latestReport(proc: NodeProcess): { handled: number; finished: number; lastFinishedAt: number } {
  for (let i = proc.lines.length - 1; i >= 0; i--) {
    const line = proc.lines[i]!.json;
    if (typeof line?.handled === "number") {
      return { handled: line.handled, finished: Number(line.finished ?? 0), lastFinishedAt: Number(line.lastFinishedAt ?? 0) };
    }
  }
  return { handled: 0, finished: 0, lastFinishedAt: 0 };
}
