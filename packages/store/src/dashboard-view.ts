import { type AgentView, parseEventEntry, type StealOperation } from "@worksteal/protocol";
import { readAgents } from "./agents.js";
import { type DeadLetter, listDeadLetters } from "./dead-letters.js";
import { readNamespaceCounts, type NamespaceCounts } from "./figures.js";
import { type LeaderRead, readLeader } from "./replicas.js";
import { readSteals } from "./steals.js";
import type { Store } from "./store.js";

/** Everything the dashboard shows of a namespace at one moment, read in a few round trips. */
export interface DashboardView {
  agents: AgentView[];
  leadership: LeaderRead;
  counts: NamespaceCounts;
  /** Newest first. */
  steals: StealOperation[];
  deadLetters: DeadLetter[];
}

export async function readDashboardView(store: Store, agentTtlMs: number, limits: { steals: number; deadLetters: number }): Promise<DashboardView> {
  const [agents, leadership, counts, steals, deadLetters] = await Promise.all([
    readAgents(store, agentTtlMs),
    readLeader(store),
    readNamespaceCounts(store),
    readSteals(store, limits.steals),
    listDeadLetters(store, limits.deadLetters),
  ]);
  return { agents, leadership, counts, steals: steals.steals, deadLetters };
}

/** A task's wait from creation to its first start (Redis clock, ms), seen when its first finished run ended. */
export interface TaskWait {
  taskId: string;
  /** When the event carrying the wait was written: the end of the task's first finished run. */
  observedAt: number;
  waitMs: number;
}

/**
 * Waits carried by the event-stream entries after `afterId` ("0-0" at first): from the newest
 * `scan` entries, at most `sample` waits. Each task's wait rides on the event that ends its first
 * finished run (from an earlier agent, on its first `task:started`), so a task is sampled once,
 * when that run ends. Returns the newest entry id read, to pass next time. The stream is trimmed
 * once folded, so a reader that comes back rarely sees only the newest: this is a sample for a
 * chart, not a count.
 */
export async function readTaskWaits(store: Store, afterId: string, scan: number, sample: number): Promise<{ lastId: string; waits: TaskWait[] }> {
  const end = afterId === "0-0" ? "-" : `(${afterId}`;
  const entries = await store.redis.xrevrange(store.keys.events, "+", end, "COUNT", scan);
  const waits: TaskWait[] = [];
  for (const [, fields] of entries) {
    const parsed = parseEventEntry(fields);
    if (!parsed.ok || !("waitMs" in parsed.event) || parsed.event.waitMs === undefined) continue;
    waits.push({ taskId: parsed.event.taskId, observedAt: parsed.event.at, waitMs: parsed.event.waitMs });
    if (waits.length === sample) break;
  }
  return { lastId: entries[0]?.[0] ?? afterId, waits };
}
