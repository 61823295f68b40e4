import { type AgentStatus, type AgentView, FOLD_GROUP } from "@worksteal/protocol";
import { type Store, readAgents } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatAge } from "../format.js";
import { formatPairs } from "../table.js";
import { type Lease, leaseSummary, readLeader, replicaSummary } from "./leader.js";

export interface GroupInfo {
  name: string;
  consumers: number;
  /** Entries delivered to a replica and not yet acknowledged. */
  pending: number;
  /** Entries not yet delivered to the group; null when Redis cannot tell. */
  lag: number | null;
  lastDeliveredId: string;
}

export interface Status {
  namespace: string;
  /** Redis clock, ms: every age below is measured from it. */
  now: number;
  agentCounts: Record<AgentStatus, number> & { total: number };
  /** Folded counters summed over every agent's workload (may lag, and may be briefly negative). */
  tasks: { queued: number; running: number; done: number; failed: number; unassigned: number };
  events: { length: number; deadLetter: number; group: GroupInfo | null };
  replicas: Array<{ id: string; lastHeartbeat: number; ageMs: number }>;
  steals: number;
  /** The leader lease (null when nobody leads), the fence counter, and each replica's own view of its role. */
  leader: { lease: Lease | null; fence: number; roles: Record<string, string> };
  agents: AgentView[];
}

/** XINFO GROUPS, as an object for the fold group; null when the stream or the group is missing. */
async function readGroup(store: Store): Promise<GroupInfo | null> {
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
      lastDeliveredId: String(info["last-delivered-id"] ?? ""),
    };
  }
  return null;
}

export async function readStatus(store: Store, agentTtlMs: number): Promise<Status> {
  const k = store.keys;
  const [agents, now, unassigned, length, deadLetter, replicaHash, steals, group, leadership] = await Promise.all([
    readAgents(store, agentTtlMs),
    store.now(),
    store.redis.zcard(k.unassigned),
    store.redis.xlen(k.events),
    store.redis.xlen(k.deadLetter),
    store.redis.hgetall(k.replicas),
    store.redis.zcard(k.steals),
    readGroup(store),
    readLeader(store),
  ]);
  const agentCounts = { total: agents.length, alive: 0, draining: 0, drained: 0, dead: 0 };
  const tasks = { queued: 0, running: 0, done: 0, failed: 0, unassigned };
  for (const a of agents) {
    agentCounts[a.status] += 1;
    tasks.queued += a.workload.queued;
    tasks.running += a.workload.running;
    tasks.done += a.workload.done;
    tasks.failed += a.workload.failed;
  }
  const replicas = Object.entries(replicaHash)
    .map(([id, at]) => ({ id, lastHeartbeat: Number(at) || 0, ageMs: now - (Number(at) || 0) }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const roles: Record<string, string> = {};
  for (const r of leadership.replicas) if (r.role !== null) roles[r.id] = r.role;
  const leader = { lease: leadership.lease, fence: leadership.fence, roles };
  return { namespace: store.namespace, now, agentCounts, tasks, events: { length, deadLetter, group }, replicas, steals, leader, agents };
}

/** The replicas the leader line counts: every id with a heartbeat or a reported role. */
function leaderReplicas(s: Status): Array<{ id: string; role: string | null }> {
  const ids = new Set([...s.replicas.map((r) => r.id), ...Object.keys(s.leader.roles)]);
  return [...ids].map((id) => ({ id, role: s.leader.roles[id] ?? null }));
}

export function statusLines(s: Status): string {
  const { group } = s.events;
  const groupText = group
    ? `group ${group.name}: ${group.pending} pending, lag ${group.lag ?? "unknown"}, ${group.consumers} consumer(s)`
    : `no ${FOLD_GROUP} group`;
  const replicas =
    s.replicas.length === 0 ? "none" : `${s.replicas.length}: ${s.replicas.map((r) => `${r.id} (${formatAge(r.lastHeartbeat, s.now)})`).join(", ")}`;
  const { tasks: t, agentCounts: a } = s;
  return formatPairs([
    ["namespace", s.namespace],
    ["agents", `${a.alive} alive, ${a.draining} draining, ${a.drained} drained, ${a.dead} dead (${a.total} registered)`],
    ["tasks", `${t.queued} queued, ${t.running} running, ${t.done} done, ${t.failed} failed`],
    ["unassigned", `${t.unassigned} waiting for a capable agent`],
    ["events", `${s.events.length} in stream; ${groupText}`],
    ["dead letter", `${s.events.deadLetter}`],
    ["replicas", replicas],
    ["leader", `${leaseSummary(s.leader.lease, s.leader.fence)}; ${replicaSummary(leaderReplicas(s), s.leader.lease)}`],
    ["steals", `${s.steals} recorded`],
  ]);
}

export async function runStatus(ctx: CommandContext): Promise<number> {
  const status = await readStatus(ctx.store, ctx.config.agentTtlMs);
  ctx.out(ctx.json ? JSON.stringify(status) : statusLines(status));
  return EXIT.ok;
}
