/**
 * Starts what a demo or benchmark needs: Redis (REDIS_URL, or a private redis-server in a temp
 * dir on a free port), coordinator replicas and agents, each as its own process. A process
 * counts as started once Redis shows it (see readiness.ts), however long that takes on a busy
 * machine; one that exits first, or stays silent past PROCESS_READY_TIMEOUT_MS, fails the start.
 */
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { keysFor } from "@worksteal/protocol";
import { AgentQueues } from "@worksteal/store";
import {
  deleteNamespace,
  hasRedisServerBinary,
  REDIS_SERVER_MISSING,
  spawnNode,
  startRedisServer,
  waitUntilReady,
  type NodeProcess,
  type RedisServer,
} from "@worksteal/testkit";
import { ExitError } from "./args.js";
import { agentUp, redisClock, replicaBeating, workerConnected } from "./readiness.js";
import { SHARED_QUEUE } from "./workload.js";

export interface AgentSpec {
  id: string;
  capabilities: string[];
  concurrency: number;
  /** Multiplies every task's duration: 2 is twice as slow. */
  speed: number;
}

export interface Fleet {
  redisUrl: string;
  namespace: string;
  redis: Redis;
  /** The private redis-server, when the fleet started one. */
  server: RedisServer | undefined;
  /** The latest process of each id. */
  agents: Map<string, NodeProcess>;
  coordinators: Map<string, NodeProcess>;
  /** Starts one more replica (id from WORKSTEAL_REPLICA_ID in `env`, else c<n>) and waits until it heartbeats. */
  startCoordinator(env?: Record<string, string>): Promise<NodeProcess>;
  /** Starts an agent (again, under the same id) and waits until it is up. */
  startAgent(spec: AgentSpec): Promise<NodeProcess>;
  stop(): Promise<void>;
}

export class NoRedisError extends ExitError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** While no process comes up, progress is repeated this often. */
const QUIET_REPORT_MS = 5000;

export async function startFleet(options: {
  namespace: string;
  agents: AgentSpec[];
  coordinators: number;
  env?: Record<string, string>;
  /** Agents as the benchmark's shared-queue baseline (agent-process.ts --shared) instead of worksteal agents. */
  shared?: boolean;
  /** Use this Redis; else REDIS_URL; else a private redis-server (with AOF) stopped with the fleet. */
  redisUrl?: string;
  /** A private redis-server even when REDIS_URL is set: the chaos soak restarts it. */
  privateRedis?: boolean;
  /** Told of each step of the start, as one human-readable line. */
  onProgress?: (line: string) => void;
}): Promise<Fleet> {
  const progress = options.onProgress ?? (() => undefined);
  let server: RedisServer | undefined;
  let redisUrl = options.privateRedis ? undefined : (options.redisUrl ?? process.env.REDIS_URL);
  if (!redisUrl) {
    if (!hasRedisServerBinary()) throw new NoRedisError(REDIS_SERVER_MISSING);
    progress("starting redis-server...");
    server = await startRedisServer();
    redisUrl = server.url;
  }
  await checkReachable(redisUrl, server);
  progress(`Redis at ${redisUrl}`);
  const env = { REDIS_URL: redisUrl, WORKSTEAL_NAMESPACE: options.namespace, WORKSTEAL_LOG_LEVEL: "warn", ...options.env };
  const redis = new Redis(redisUrl);
  // Reconnects by itself; a command that cannot be served fails, and that failure is what is reported.
  redis.on("error", () => undefined);
  const coordinators = new Map<string, NodeProcess>();
  const agents = new Map<string, NodeProcess>();
  // Handles on the agents' queues, to see their workers connect.
  const queues = new AgentQueues(redis, keysFor(options.namespace));
  const sharedQueue = options.shared ? new Queue(SHARED_QUEUE, { connection: redis, prefix: keysFor(options.namespace).bullPrefix }) : undefined;

  const stop = async () => {
    await sharedQueue?.close();
    await queues.close();
    const procs = [...coordinators.values(), ...agents.values()];
    for (const p of procs) p.kill("SIGTERM");
    await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5000))]);
    for (const p of procs) p.kill("SIGKILL");
    if (server) await server.stop();
    else await deleteNamespace(redis, options.namespace);
    redis.disconnect();
  };

  let coordinatorNumber = 0;
  const startCoordinator = async (extra: Record<string, string> = {}) => {
    coordinatorNumber += 1;
    const id = extra.WORKSTEAL_REPLICA_ID ?? `c${coordinatorNumber}`;
    const since = await redisClock(redis);
    const proc = spawnNode("packages/coordinator/src/main.ts", [], { env: { ...env, WORKSTEAL_LOG_LEVEL: "info", WORKSTEAL_REPLICA_ID: id, ...extra } });
    coordinators.set(id, proc);
    await waitUntilReady(proc, replicaBeating(redis, options.namespace, id, since), { what: `coordinator ${id}` });
    return proc;
  };

  const startAgent = async (spec: AgentSpec) => {
    const since = await redisClock(redis);
    const proc = spawnNode(
      "scripts/lib/agent-process.ts",
      [
        "--id",
        spec.id,
        "--capabilities",
        spec.capabilities.join(","),
        "--concurrency",
        String(spec.concurrency),
        "--speed",
        String(spec.speed),
        ...(options.shared ? ["--shared"] : []),
      ],
      { env },
    );
    agents.set(spec.id, proc);
    const ready = sharedQueue ? workerConnected(sharedQueue, spec.id) : agentUp(redis, queues, options.namespace, spec.id, since);
    await waitUntilReady(proc, ready, { what: `agent ${spec.id}` });
    return proc;
  };

  // Everything starts at once. A line of progress each time a process is up, and every few
  // seconds while none comes up, so that a slow start on a busy machine is seen to be moving.
  let coordinatorsUp = 0;
  let agentsUp = 0;
  const startedAt = Date.now();
  const report = () => {
    const elapsed = ((Date.now() - startedAt) / 1000).toFixed(1);
    progress(`coordinators ${coordinatorsUp}/${options.coordinators} up, agents ${agentsUp}/${options.agents.length} ready (${elapsed} s)`);
    clearTimeout(quiet);
    quiet = setTimeout(report, QUIET_REPORT_MS);
  };
  let quiet = setTimeout(report, QUIET_REPORT_MS);
  progress(`starting ${options.coordinators} coordinator(s) and ${options.agents.length} agents...`);
  try {
    await Promise.all([
      ...Array.from({ length: options.coordinators }, () =>
        startCoordinator().then(() => {
          coordinatorsUp += 1;
          report();
        }),
      ),
      ...options.agents.map((spec) =>
        startAgent(spec).then(() => {
          agentsUp += 1;
          report();
        }),
      ),
    ]);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(quiet);
  }

  return { redisUrl, namespace: options.namespace, redis, server, agents, coordinators, startCoordinator, startAgent, stop };
}

/** One PING without retries, so that a wrong REDIS_URL fails the start at once instead of retrying for ever. */
async function checkReachable(redisUrl: string, server: RedisServer | undefined): Promise<void> {
  const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000 });
  // The connection's own error (ECONNREFUSED...) says more than the rejected command's.
  let connectionError: Error | undefined;
  probe.on("error", (error: Error) => {
    connectionError = error;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    await server?.stop();
    throw new Error(`cannot reach Redis at ${redisUrl}: ${(connectionError ?? (error as Error)).message}`);
  } finally {
    probe.disconnect();
  }
}
