import { type AgentView, parseEventEntry, type StealOperation } from "@worksteal/protocol";
import { readAgents } from "./agents.js";
import { type DeadLetter, listDeadLetters } from "./dead-letters.js";
import { readNamespaceCounts, type NamespaceCounts } from "./figures.js";
import { type LeaderRead, readLeader } from "./replicas.js";
import { replyValues } from "./replies.js";
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

/** A first run that started: how long its task waited, from creation to start (Redis clock, ms). */
export interface TaskWait {
  taskId: string;
  startedAt: number;
  waitMs: number;
}

/**
 * Waits of the tasks whose first run started after the event-stream entry `afterId` ("0-0" at
 * first): from the newest `scan` entries, at most `sample` starts, each measured against its
 * record's creation time (a task whose record has expired is left out). Returns the newest
 * entry id read, to pass next time. The stream is trimmed once folded, so a reader that comes
 * back rarely sees only the newest starts: this is a sample for a chart, not a count.
 */
export async function readTaskWaits(store: Store, afterId: string, scan: number, sample: number): Promise<{ lastId: string; waits: TaskWait[] }> {
  const end = afterId === "0-0" ? "-" : `(${afterId}`;
  const entries = await store.redis.xrevrange(store.keys.events, "+", end, "COUNT", scan);
  const starts: Array<{ taskId: string; at: number }> = [];
  for (const [, fields] of entries) {
    const parsed = parseEventEntry(fields);
    if (!parsed.ok || parsed.event.kind !== "task:started") continue;
    if (parsed.event.attempt !== 1 || parsed.event.restarted) continue;
    starts.push({ taskId: parsed.event.taskId, at: parsed.event.at });
    if (starts.length === sample) break;
  }
  const lastId = entries[0]?.[0] ?? afterId;
  if (starts.length === 0) return { lastId, waits: [] };
  const pipeline = store.redis.pipeline();
  for (const start of starts) pipeline.hget(store.keys.task(start.taskId), "createdAt");
  const createdAt = replyValues(await pipeline.exec(), "task creation times") as Array<string | null>;
  const waits = starts.flatMap((start, i) => {
    const created = Number(createdAt[i] ?? Number.NaN);
    return Number.isFinite(created) ? [{ taskId: start.taskId, startedAt: start.at, waitMs: Math.max(0, start.at - created) }] : [];
  });
  return { lastId, waits };
}
