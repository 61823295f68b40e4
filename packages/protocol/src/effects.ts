import { DURATIONS_SUFFIX, METRICS_SUFFIX, TASKS_CANCELLED_FIELD, workloadSuffix } from "./keys.js";
import type { WorkstealEvent } from "./events.js";

/**
 * What folding one event does to the workload hashes, as data. Computing effects is pure and
 * tested here; the fold script only applies them, and only while the fold cursor stands where
 * the batch begins (a compare-and-set in fold-4.lua), so an event takes effect exactly once
 * whichever replica folds it.
 *
 * Folding keeps only what the events alone know: done and failed totals, steals in and out,
 * run durations (per agent and per task type), cpu and memory. An agent's queued and running
 * counts are not folded: the task scripts keep them exact as they move the task (see
 * `keysFor(...).queuedCounts`).
 *
 * Counters are increments, so folding in any order gives the same totals. Gauges (cpu, memory)
 * carry their timestamp and the script keeps the newest.
 */
export type Effects = EffectsData & ({ task: string; agent?: undefined } | { agent: string; task?: undefined });

interface EffectsData {
  /** [key suffix, field, delta] */
  incr: Array<[string, string, number]>;
  /** [key suffix, field, value, at]: applied only when `at` is newer than the hash's `metricsAt`. */
  gauge: Array<[string, string, number, number]>;
  /**
   * Checks the fold script makes before applying anything; an entry that fails one is
   * dead-lettered. Task events must carry the marker their task script left in the task's
   * record (a forged or replayed entry has none); agent events must name a registered agent;
   * `at` must be near the Redis clock. (`task` or `agent`, on Effects.)
   */
  at: number;
}

/**
 * Run times above this (2^26 ms, about 18.6 h) count as this in an agent's sum of squares
 * (`durationSqSum`): each square is an exact integer of at most 2^52 (foldOwn-3.lua caps alike; the
 * fold tests hold the two together). A batch's sum of them is a double, exact up to 2^53 and rounded
 * past it (a relative error below 2^-53 a run). The hash's signed 64-bit field holds 2,047 of the
 * largest; past that HINCRBY refuses and the fold starts the field over from the batch's sum, as for
 * a hand edit, and the agent's squares then fall short of its sum's (durationSpread leaves it out).
 */
export const SQUARED_DURATION_CAP_MS = 2 ** 26;

/** A run time's share of `durationSqSum`: its square in whole ms, capped (SQUARED_DURATION_CAP_MS). */
export function durationSquare(durationMs: number): number {
  const ms = Math.min(Math.round(durationMs), SQUARED_DURATION_CAP_MS);
  return ms * ms;
}

export function effectsOf(event: WorkstealEvent): Effects {
  const incr: Effects["incr"] = [];
  const gauge: Effects["gauge"] = [];
  switch (event.kind) {
    case "task:completed": {
      const w = workloadSuffix(event.agentId);
      incr.push([w, "done", 1]);
      incr.push([w, "durationSumMs", Math.round(event.durationMs)], [w, "durationCount", 1], [w, "durationSqSum", durationSquare(event.durationMs)]);
      incr.push([DURATIONS_SUFFIX, `${event.taskType}:sum`, Math.round(event.durationMs)]);
      incr.push([DURATIONS_SUFFIX, `${event.taskType}:count`, 1]);
      break;
    }
    case "task:failed":
      if (event.final) incr.push([workloadSuffix(event.agentId), "failed", 1]);
      break;
    case "task:stolen":
      incr.push([workloadSuffix(event.from), "stolenOut", 1], [workloadSuffix(event.to), "stolenIn", 1]);
      break;
    case "task:cancelled":
      // The cancel script moved the queued/running count itself; a cancelled task may have had no agent.
      incr.push([METRICS_SUFFIX, TASKS_CANCELLED_FIELD, 1]);
      break;
    case "agent:duration": {
      // Counts toward the reporting agent's own speed only: per-type durations, which every
      // placement and plan reads, come from runs the task scripts timed.
      const w = workloadSuffix(event.agentId);
      incr.push([w, "durationSumMs", Math.round(event.durationMs)], [w, "durationCount", 1], [w, "durationSqSum", durationSquare(event.durationMs)]);
      break;
    }
    case "agent:metrics":
      gauge.push([workloadSuffix(event.agentId), "cpu", event.cpu, event.at]);
      gauge.push([workloadSuffix(event.agentId), "memoryMb", event.memoryMb, event.at]);
      break;
    case "task:assigned":
    case "task:started":
    case "task:reassigned":
      // Queued and running counts move with the task, in its scripts: folding only checks the marker.
      // (task:started is no longer appended; earlier agents' entries still fold so.)
      break;
    case "agent:registered":
    case "agent:heartbeat":
    case "agent:draining":
      // Profile and liveness are written directly by their scripts; folding only counts them.
      break;
  }
  return "taskId" in event ? { incr, gauge, task: event.taskId, at: event.at } : { incr, gauge, agent: event.agentId, at: event.at };
}

/**
 * Of the task events a fold applied, what the folding replica's own metrics observe (tasks done
 * and failed by type, run times, waits): folding is exactly once, so each task is observed by one
 * replica. The fold's fast path (foldOwn-3.lua) returns the same from Redis.
 */
export interface FoldedTaskFigures {
  /**
   * Each task's wait from submission to its first start, ms: carried by the event that ends its
   * first finished run (or, from earlier agents, by its first `task:started`; one task never has both).
   */
  waitsMs: number[];
  /** Completed runs: [task type, duration ms]. */
  completed: Array<[taskType: string, durationMs: number]>;
  /** Failed runs: [task type, final, duration ms; undefined when the task never started (from queued)]. */
  failed: Array<[taskType: string, final: boolean, durationMs: number | undefined]>;
}

export function taskFiguresOf(events: readonly WorkstealEvent[]): FoldedTaskFigures {
  const figures: FoldedTaskFigures = { waitsMs: [], completed: [], failed: [] };
  for (const event of events) {
    if (event.kind === "task:completed") figures.completed.push([event.taskType, event.durationMs]);
    else if (event.kind === "task:failed") figures.failed.push([event.taskType, event.final, event.fromState === "queued" ? undefined : event.durationMs]);
    // Each task's once (see waitsMs).
    if ("waitMs" in event && event.waitMs !== undefined) figures.waitsMs.push(event.waitMs);
  }
  return figures;
}
