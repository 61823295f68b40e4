import type { SimResult } from "./model.js";

export interface SimMetrics {
  makespanMs: number;
  meanWaitMs: number;
  p99WaitMs: number;
  /** Moves over tasks: a task moved twice counts twice. */
  movesPerTask: number;
  /**
   * The fewest moves, over tasks, that end with as many tasks run on each agent as this run did:
   * per agent, the tasks queued on it beyond those it ran.
   */
  neededMovesPerTask: number;
  /** Moves beyond those needed, over tasks: repeat moves, and tasks traded both ways between agents. */
  excessMovesPerTask: number;
  /** Moves of tasks that had moved before, over tasks (part of the excess). */
  repeatMovesPerTask: number;
}

/** Wait = start − arrival. p99 is the nearest-rank percentile. */
export function metricsOf(result: SimResult): SimMetrics {
  const waits = result.tasks.map((t) => t.startedAt - t.arrivesAt).sort((a, b) => a - b);
  const n = waits.length;
  const repeats = result.tasks.reduce((sum, t) => sum + Math.max(0, t.moves - 1), 0);
  const surplus = new Map<string, number>();
  for (const t of result.tasks) {
    // In the shared queue no task is placed on an agent: none needs a move.
    if (t.placedOn === "") continue;
    surplus.set(t.placedOn, (surplus.get(t.placedOn) ?? 0) + 1);
    surplus.set(t.agent, (surplus.get(t.agent) ?? 0) - 1);
  }
  let needed = 0;
  for (const s of surplus.values()) needed += Math.max(0, s);
  return {
    makespanMs: result.makespanMs,
    meanWaitMs: n > 0 ? waits.reduce((sum, w) => sum + w, 0) / n : 0,
    p99WaitMs: n > 0 ? waits[Math.ceil(0.99 * n) - 1]! : 0,
    movesPerTask: n > 0 ? result.moves / n : 0,
    neededMovesPerTask: n > 0 ? needed / n : 0,
    excessMovesPerTask: n > 0 ? (result.moves - needed) / n : 0,
    repeatMovesPerTask: n > 0 ? repeats / n : 0,
  };
}
