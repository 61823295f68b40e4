import type { SimResult } from "./model.js";

export interface SimMetrics {
  makespanMs: number;
  meanWaitMs: number;
  p99WaitMs: number;
  movesPerTask: number;
}

/** Wait = start − arrival. p99 is the nearest-rank percentile. */
export function metricsOf(result: SimResult): SimMetrics {
  const waits = result.tasks.map((t) => t.startedAt - t.arrivesAt).sort((a, b) => a - b);
  const n = waits.length;
  return {
    makespanMs: result.makespanMs,
    meanWaitMs: n > 0 ? waits.reduce((sum, w) => sum + w, 0) / n : 0,
    p99WaitMs: n > 0 ? waits[Math.ceil(0.99 * n) - 1]! : 0,
    movesPerTask: n > 0 ? result.moves / n : 0,
  };
}
