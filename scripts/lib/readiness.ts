/**
 * When an agent or coordinator process is up, read from the state it writes to Redis rather
 * than from its log: the demo, the benchmarks and the tests all wait through these probes.
 * Probes take `since`, the Redis clock read just before the process was spawned, so that what an
 * earlier process of the same id left behind does not count.
 */
import type { Queue } from "bullmq";
import { keysFor } from "@worksteal/protocol";
import type { AgentQueues, RedisConnection } from "@worksteal/store";

/** Redis's clock (ms): the one registrations and heartbeats are stamped with. */
export async function redisClock(redis: RedisConnection): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * An agent process is up: it has registered since `since` (it is in the agents set, and placement
 * and stealing count it) and its BullMQ worker is connected to its queue, so that it takes what
 * is sent to it from now on.
 */
export function agentUp(redis: RedisConnection, queues: AgentQueues, namespace: string, agentId: string, since: number): () => Promise<boolean> {
  const keys = keysFor(namespace);
  const connected = workerConnected(queues.get(agentId));
  return async () => {
    const [member, registeredAt] = await Promise.all([redis.sismember(keys.agents, agentId), redis.hget(keys.agent(agentId), "registeredAt")]);
    return member === 1 && Number(registeredAt ?? 0) >= since && (await connected());
  };
}

/**
 * A coordinator replica has heartbeated since `since`. Its first heartbeat closes its start: it
 * has made the fold cursor if missing and runs its directive worker; it then tries for the lease.
 */
export function replicaBeating(redis: RedisConnection, namespace: string, replicaId: string, since: number): () => Promise<boolean> {
  const keys = keysFor(namespace);
  return async () => Number((await redis.hget(keys.replicas, replicaId)) ?? 0) >= since;
}

/**
 * A BullMQ worker is connected to `queue`; with `name`, one created with that name (a baseline
 * `--shared` agent registers nowhere, so this is how it is seen). BullMQ lists workers by the
 * names of their Redis connections.
 */
export function workerConnected(queue: Queue, name?: string): () => Promise<boolean> {
  return async () => (await queue.getWorkers()).some((w) => name === undefined || String(w.rawname ?? "").endsWith(`:w:${name}`));
}
