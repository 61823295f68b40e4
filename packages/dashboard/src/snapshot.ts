import { type AgentStatus, averageDurationMs } from "@worksteal/protocol";
import type { DashboardView } from "@worksteal/store";
import type { HistorySeries } from "./history.js";

/** What the page receives, as JSON, once per interval (the same object for every client). */
export interface Snapshot {
  namespace: string;
  /** Redis clock, ms. */
  at: number;
  /** Whether the page may offer drain and replay (the server checks again on each POST). */
  actions: boolean;
  agents: Array<{
    id: string;
    status: AgentStatus;
    capabilities: string[];
    concurrency: number;
    queued: number;
    running: number;
    done: number;
    failed: number;
    /** Tasks finished per second, smoothed over the last snapshots. */
    speed: number;
    /** Mean run time of its timed runs, ms; null before the first. */
    meanRunMs: number | null;
    cpu: number;
    memoryMb: number;
    heartbeatAgeMs: number;
  }>;
  leader: { holder: string | null; fence: number; remainingMs: number | null };
  replicas: Array<{ id: string; role: string | null; heartbeatAgeMs: number | null }>;
  counts: { unassigned: number; delayed: number; cancelled: number; events: number; deadLetters: number; steals: number };
  /** Newest first. */
  steals: Array<{
    directiveId: string;
    source: string;
    target: string;
    moved: number;
    requested: number;
    status: string;
    reason: string;
    detail: string;
    finishedAt: number;
  }>;
  /** Newest first; `event` is the refused entry's fields, shortened for display. */
  deadLetters: Array<{ id: string; sourceId: string; reason: string; event: string }>;
  history: HistorySeries;
}

/** How much of a dead letter's copy the page shows. */
const DEAD_LETTER_PREVIEW_CHARS = 300;

export function toSnapshot(view: DashboardView, speeds: ReadonlyMap<string, number>, history: HistorySeries, actions: boolean, namespace: string): Snapshot {
  const now = view.leadership.now;
  const lease = view.leadership.lease;
  return {
    namespace,
    at: now,
    actions,
    agents: view.agents.map((a) => ({
      id: a.id,
      status: a.status,
      capabilities: a.capabilities,
      concurrency: a.concurrency,
      queued: a.workload.queued,
      running: a.workload.running,
      done: a.workload.done,
      failed: a.workload.failed,
      speed: speeds.get(a.id) ?? 0,
      meanRunMs: averageDurationMs(a.workload) ?? null,
      cpu: a.workload.cpu,
      memoryMb: a.workload.memoryMb,
      heartbeatAgeMs: now - a.lastHeartbeat,
    })),
    leader: { holder: lease?.holder ?? null, fence: view.leadership.fence, remainingMs: lease?.remainingMs ?? null },
    replicas: view.leadership.replicas.map((r) => ({ id: r.id, role: r.role, heartbeatAgeMs: r.ageMs })),
    counts: {
      unassigned: view.counts.unassigned,
      delayed: view.counts.delayed,
      cancelled: view.counts.cancelled,
      events: view.counts.events,
      deadLetters: view.counts.deadLetters,
      steals: view.counts.steals,
    },
    steals: view.steals.map((s) => ({
      directiveId: s.directiveId,
      source: s.source,
      target: s.target,
      moved: s.taskIds.length,
      requested: s.requested,
      status: s.status,
      reason: s.reason,
      detail: s.detail,
      finishedAt: s.finishedAt,
    })),
    deadLetters: view.deadLetters.map((d) => {
      const event = d.fields.join(" ");
      return {
        id: d.id,
        sourceId: d.sourceId,
        reason: d.reason,
        event: event.length > DEAD_LETTER_PREVIEW_CHARS ? `${event.slice(0, DEAD_LETTER_PREVIEW_CHARS - 3)}...` : event,
      };
    }),
    history,
  };
}
