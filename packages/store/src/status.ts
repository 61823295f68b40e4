import { type AgentStatus, type AgentView, FOLD_GROUP } from "@worksteal/protocol";
import { readAgents } from "./agents.js";
import { readNamespaceCounts } from "./figures.js";
import { type Lease, readLeader, readReplicaHeartbeats } from "./replicas.js";
import type { Store } from "./store.js";

export interface GroupInfo {
  name: string;
  consumers: number;
  /** Entries delivered to a replica and not yet acknowledged. */
  pending: number;
  /** Entries not yet delivered to the group; null when Redis cannot tell. */
  lag: number | null;
  lastDeliveredId: string;
}

/** A namespace at a glance: what `worksteal status` shows. */
export interface Status {
  namespace: string;
  /** Redis clock, ms: every age below is measured from it. */
  now: number;
  agentCounts: Record<AgentStatus, number> & { total: number };
  /** Summed over every agent: queued and running exact (kept by the task scripts), done and failed folded from events (they lag the fold); cancelled and delayed counted for the namespace. */
  tasks: { queued: number; running: number; done: number; failed: number; unassigned: number; cancelled: number; delayed: number };
  events: { length: number; deadLetter: number; group: GroupInfo | null };
  replicas: Array<{ id: string; lastHeartbeat: number; ageMs: number }>;
  steals: number;
  /** The leader lease (null when nobody leads), the fence counter, and each replica's own view of its role. */
  leader: { lease: Lease | null; fence: number; roles: Record<string, string> };
  agents: AgentView[];
}

/** XINFO GROUPS, as an object for the fold group; null when the stream or the group is missing. */
export async function readFoldGroup(store: Store): Promise<GroupInfo | null> {
  let groups: unknown[];
  try {
    groups = (await store.redis.xinfo("GROUPS", store.keys.events)) as unknown[];
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) return null;
    throw error;
  }
  for (const entry of groups) {
    const flat = entry as unknown[];
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) info[String(flat[i])] = flat[i + 1];
    if (info.name !== FOLD_GROUP) continue;
    const lag = info.lag;
    return {
      name: FOLD_GROUP,
      consumers: Number(info.consumers ?? 0),
      pending: Number(info.pending ?? 0),
      lag: lag === null || lag === undefined ? null : Number(lag),
      lastDeliveredId: typeof info["last-delivered-id"] === "string" ? info["last-delivered-id"] : "",
    };
  }
  return null;
}

export async function readStatus(store: Store, agentTtlMs: number): Promise<Status> {
  const [agents, now, counts, heartbeats, group, leadership] = await Promise.all([
    readAgents(store, agentTtlMs),
    store.now(),
    readNamespaceCounts(store),
    readReplicaHeartbeats(store),
    readFoldGroup(store),
    readLeader(store),
  ]);
  const agentCounts = { total: agents.length, alive: 0, draining: 0, drained: 0, dead: 0 };
  const tasks = { queued: 0, running: 0, done: 0, failed: 0, unassigned: counts.unassigned, cancelled: counts.cancelled, delayed: counts.delayed };
  for (const a of agents) {
    agentCounts[a.status] += 1;
    tasks.queued += a.workload.queued;
    tasks.running += a.workload.running;
    tasks.done += a.workload.done;
    tasks.failed += a.workload.failed;
  }
  const replicas = Object.entries(heartbeats)
    .map(([id, at]) => ({ id, lastHeartbeat: at, ageMs: now - at }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const roles: Record<string, string> = {};
  for (const r of leadership.replicas) if (r.role !== null) roles[r.id] = r.role;
  const leader = { lease: leadership.lease, fence: leadership.fence, roles };
  const events = { length: counts.events, deadLetter: counts.deadLetters, group };
  return { namespace: store.namespace, now, agentCounts, tasks, events, replicas, steals: counts.steals, leader, agents };
}
