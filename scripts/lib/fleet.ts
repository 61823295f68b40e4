/**
 * Starts what a demo or benchmark needs: Redis (REDIS_URL, or a private redis-server in a temp
 * dir on a free port), coordinator replicas and agents, each as its own process.
 */
import { Redis } from "ioredis";
import { deleteNamespace, hasRedisServerBinary, REDIS_SERVER_MISSING, spawnNode, startRedisServer, type NodeProcess, type RedisServer } from "@worksteal/testkit";

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
  agents: Map<string, NodeProcess>;
  coordinators: NodeProcess[];
  startCoordinator(env?: Record<string, string>): Promise<NodeProcess>;
  stop(): Promise<void>;
}

export class NoRedisError extends Error {}

export async function startFleet(options: {
  namespace: string;
  agents: AgentSpec[];
  coordinators: number;
  env?: Record<string, string>;
  /** Extra arguments for every agent process (e.g. --shared). */
  agentArgs?: string[];
  /** Use this Redis; else REDIS_URL; else a private redis-server stopped with the fleet. */
  redisUrl?: string;
}): Promise<Fleet> {
  let server: RedisServer | undefined;
  let redisUrl = options.redisUrl ?? process.env.REDIS_URL;
  if (!redisUrl) {
    if (!hasRedisServerBinary()) throw new NoRedisError(REDIS_SERVER_MISSING);
    server = await startRedisServer();
    redisUrl = server.url;
  }
  const env = { REDIS_URL: redisUrl, WORKSTEAL_NAMESPACE: options.namespace, WORKSTEAL_LOG_LEVEL: "warn", ...options.env };
  const redis = new Redis(redisUrl);
  const coordinators: NodeProcess[] = [];
  const agents = new Map<string, NodeProcess>();

  const startCoordinator = async (extra: Record<string, string> = {}) => {
    const proc = spawnNode("packages/coordinator/src/main.ts", [], { env: { ...env, WORKSTEAL_LOG_LEVEL: "info", ...extra } });
    coordinators.push(proc);
    await proc.waitForLine((l) => l.json?.msg === "replica started", 20_000);
    return proc;
  };
  for (let i = 0; i < options.coordinators; i++) await startCoordinator();
  await Promise.all(
    options.agents.map(async (spec) => {
      const proc = spawnNode("scripts/lib/agent-process.ts", [
        "--id", spec.id,
        "--capabilities", spec.capabilities.join(","),
        "--concurrency", String(spec.concurrency),
        "--speed", String(spec.speed),
        ...(options.agentArgs ?? []),
      ], { env });
      agents.set(spec.id, proc);
      await proc.waitForLine((l) => l.json?.msg === "agent ready", 20_000);
    }),
  );

  return {
    redisUrl,
    namespace: options.namespace,
    redis,
    agents,
    coordinators,
    startCoordinator,
    async stop() {
      const procs = [...coordinators, ...agents.values()];
      for (const p of procs) p.kill("SIGTERM");
      await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5000))]);
      for (const p of procs) p.kill("SIGKILL");
      if (server) await server.stop();
      else await deleteNamespace(redis, options.namespace);
      redis.disconnect();
    },
  };
}
