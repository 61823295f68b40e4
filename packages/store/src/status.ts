import type { AgentStatus, AgentView } from "@worksteal/protocol";
import { readAgents } from "./agents.js";
import { readFoldProgressAndFolder, readNamespaceCounts } from "./figures.js";
import { type Lease, readLeader, readReplicaHeartbeats } from "./replicas.js";
import type { Store } from "./store.js";

/** Where folding stands. */
export interface FoldInfo {
  /** The last folded entry's id; null before any replica made the cursor. */
  cursor: string | null;
  /** Entries appended and not yet folded. */
  lag: number;
  /** The replica that folds now (the fold lease), null when none holds it. */
  folder: string | null;
}

/** A namespace at a glance: what `worksteal status` shows. */
export interface Status {
  namespace: string;
  /** Redis clock, ms: every age below is measured from it. */
  now: number;
  agentCounts: Record<AgentStatus, number> & { total: number };
  /** Summed over every agent: queued and running exact (kept by the task scripts), done and failed folded from events (they lag the fold); cancelled and delayed counted for the namespace. */
  tasks: { queued: number; running: number; done: number; failed: number; unassigned: number; cancelled: number; delayed: number };
  events: { length: number; deadLetter: number; fold: FoldInfo };
  replicas: Array<{ id: string; lastHeartbeat: number; ageMs: number }>;
  steals: number;
  /** The leader lease (null when nobody leads), the fence counter, and each replica's own view of its role. */
  leader: { lease: Lease | null; fence: number; roles: Record<string, string> };
  agents: AgentView[];
}

/** The fold cursor, its lag and the fold lease's holder. */
export async function readFoldInfo(store: Store): Promise<FoldInfo> {
  const { progress, folder } = await readFoldProgressAndFolder(store);
  return { cursor: progress.cursor, lag: progress.lag, folder };
}

export async function readStatus(store: Store, agentTtlMs: number): Promise<Status> {
  const [agents, now, counts, heartbeats, fold, leadership] = await Promise.all([
    readAgents(store, agentTtlMs),
    store.now(),
    readNamespaceCounts(store),
    readReplicaHeartbeats(store),
    readFoldInfo(store),
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
  const events = { length: counts.events, deadLetter: counts.deadLetters, fold };
  return { namespace: store.namespace, now, agentCounts, tasks, events, replicas, steals: counts.steals, leader, agents };
}
