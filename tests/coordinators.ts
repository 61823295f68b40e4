import type { Redis } from "ioredis";
import { keysFor } from "@worksteal/protocol";
import { spawnNode, type NodeProcess } from "@worksteal/testkit";

/** Coordinator replicas as child processes (packages/coordinator/src/main.ts), by id. */
export class CoordinatorProcesses {
  readonly procs = new Map<string, NodeProcess>();

  constructor(
    private readonly redisUrl: string,
    private readonly namespace: string,
    private readonly env: Record<string, string> = {},
  ) {}

  async start(id: string): Promise<NodeProcess> {
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
    await proc.waitForLine((l) => l.json?.msg === "replica started", 20_000);
    return proc;
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
  }
}

export interface Lease {
  holder: string;
  fence: number;
}

export async function readLease(redis: Redis, namespace: string): Promise<Lease | undefined> {
  const lease = await redis.hgetall(keysFor(namespace).leader);
  return lease.holder ? { holder: lease.holder, fence: Number(lease.fence) } : undefined;
}

export async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
