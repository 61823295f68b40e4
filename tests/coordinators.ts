import { keysFor } from "@worksteal/protocol";
import { createRedis, type RedisConnection } from "@worksteal/store";
import { spawnNode, waitUntilReady, type NodeProcess } from "@worksteal/testkit";
import { redisClock, replicaBeating } from "../scripts/lib/readiness.js";

/** Coordinator replicas as child processes (packages/coordinator/src/main.ts), by id. */
export class CoordinatorProcesses {
  readonly procs = new Map<string, NodeProcess>();
  private connection: RedisConnection | undefined;

  constructor(
    private readonly redisUrl: string,
    private readonly namespace: string,
    private readonly env: Record<string, string> = {},
  ) {}

  /** Starts replica `id` and resolves once it heartbeats in Redis (its start is then complete). */
  async start(id: string): Promise<NodeProcess> {
    const since = await redisClock(this.redis());
    const proc = spawnNode("packages/coordinator/src/main.ts", [], {
      env: {
        REDIS_URL: this.redisUrl,
        WORKSTEAL_NAMESPACE: this.namespace,
        WORKSTEAL_REPLICA_ID: id,
        WORKSTEAL_LOG_LEVEL: "info",
        WORKSTEAL_HEARTBEAT_INTERVAL_MS: "200",
        ...this.env,
      },
    });
    this.procs.set(id, proc);
    await waitUntilReady(proc, replicaBeating(this.redis(), this.namespace, id, since), { what: `coordinator ${id}` });
    return proc;
  }

  /** The connection readiness is read on, opened on first use and closed by stopAll(). */
  private redis(): RedisConnection {
    // Tests that stop Redis expect this connection to fail meanwhile; it reconnects by itself.
    this.connection ??= createRedis(this.redisUrl);
    return this.connection;
  }

  get(id: string): NodeProcess {
    const proc = this.procs.get(id);
    if (!proc) throw new Error(`no coordinator ${id}`);
    return proc;
  }

  async stopAll(): Promise<void> {
    const procs = [...this.procs.values()];
    for (const p of procs) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
    this.connection?.disconnect();
    this.connection = undefined;
  }
}

export interface Lease {
  holder: string;
  fence: number;
}

export async function readLease(redis: RedisConnection, namespace: string): Promise<Lease | undefined> {
  const lease = await redis.hgetall(keysFor(namespace).leader);
  return lease.holder ? { holder: lease.holder, fence: Number(lease.fence) } : undefined;
}

/** Redis's clock (ms). */
export const redisNow = redisClock;
