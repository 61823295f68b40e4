import {
  type AgentStatus,
  type AgentView,
  AgentProfileSchema,
  parseRecord,
  parseWorkload,
  type StealOperation,
  StealOperationSchema,
} from "@worksteal/protocol";
import type { Store } from "./store.js";

/** Liveness from the agent hash and the Redis clock: a stale heartbeat means dead, whatever else was marked. */
export function agentStatus(hash: Record<string, string>, now: number, agentTtlMs: number): AgentStatus {
  if (now - Number(hash.lastHeartbeat ?? 0) > agentTtlMs) return "dead";
  return hash.status === "draining" || hash.status === "drained" ? hash.status : "alive";
}

/** Every registered agent with its profile, liveness and folded workload, sorted by id. */
export async function readAgents(store: Store, agentTtlMs: number): Promise<AgentView[]> {
  const ids = (await store.redis.smembers(store.keys.agents)).sort();
  if (ids.length === 0) return [];
  const pipeline = store.redis.pipeline();
  for (const id of ids) pipeline.hgetall(store.keys.agent(id)).hgetall(store.keys.workload(id));
  pipeline.time();
  const replies = (await pipeline.exec()) ?? [];
  const values = replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  const [seconds, micros] = values[values.length - 1] as [string, string];
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  return ids.flatMap((id, i) => {
    const agent = values[2 * i] as Record<string, string>;
    const workload = values[2 * i + 1] as Record<string, string>;
    const profile = AgentProfileSchema.safeParse({
      id,
      capabilities: JSON.parse(agent.capabilities ?? "[]"),
      concurrency: Number(agent.concurrency ?? 1),
      priority: Number(agent.priority ?? 0),
    });
    if (!profile.success) return [];
    return [
      {
        ...profile.data,
        status: agentStatus(agent, now, agentTtlMs),
        lastHeartbeat: Number(agent.lastHeartbeat ?? 0),
        workload: parseWorkload(workload),
      },
    ];
  });
}

export interface StealRead {
  /** Newest first (by finish time, the sorted set's score). */
  steals: StealOperation[];
  /** Directive ids listed in the sorted set whose hash is gone or unreadable, with the reason. */
  skipped: Array<{ directiveId: string; reason: string }>;
}

/** The newest `limit` steal operations, newest first (by finish time). */
export async function readSteals(store: Store, limit: number): Promise<StealRead> {
  const ids = await store.redis.zrevrange(store.keys.steals, 0, limit - 1);
  if (ids.length === 0) return { steals: [], skipped: [] };
  const pipeline = store.redis.pipeline();
  for (const id of ids) pipeline.hgetall(store.keys.steal(id));
  const replies = (await pipeline.exec()) ?? [];
  const result: StealRead = { steals: [], skipped: [] };
  ids.forEach((directiveId, i) => {
    const [error, value] = replies[i] ?? [new Error("no reply"), null];
    if (error) throw error;
    const hash = value as Record<string, string>;
    if (Object.keys(hash).length === 0) {
      result.skipped.push({ directiveId, reason: "record expired or missing" });
      return;
    }
    const parsed = parseRecord(StealOperationSchema, hash);
    if (parsed.ok) result.steals.push(parsed.value);
    else result.skipped.push({ directiveId, reason: parsed.reason });
  });
  return result;
}
