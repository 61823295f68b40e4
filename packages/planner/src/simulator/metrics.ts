import type { SimResult } from "./model.js";

export interface SimMetrics {
  makespanMs: number;
  meanWaitMs: number;
  p99WaitMs: number;
  /** Moves over tasks: a task moved twice counts twice. */
  movesPerTask: number;
  /** Moves of tasks that had moved before, over tasks: the moves a perfect planner would not have made. */
  repeatMovesPerTask: number;
}

/** Wait = start − arrival. p99 is the nearest-rank percentile. */
export function metricsOf(result: SimResult): SimMetrics {
  const waits = result.tasks.map((t) => t.startedAt - t.arrivesAt).sort((a, b) => a - b);
  const n = waits.length;
  const repeats = result.tasks.reduce((sum, t) => sum + Math.max(0, t.moves - 1), 0);
  return {
    makespanMs: result.makespanMs,
    meanWaitMs: n > 0 ? waits.reduce((sum, w) => sum + w, 0) / n : 0,
    p99WaitMs: n > 0 ? waits[Math.ceil(0.99 * n) - 1]! : 0,
    movesPerTask: n > 0 ? result.moves / n : 0,
    repeatMovesPerTask: n > 0 ? repeats / n : 0,
  };
}
