import type { AgentView, Workload } from "@worksteal/protocol";

/** A usable duration: finite and non-negative; anything else counts as unknown. */
function validDuration(ms: number | undefined): number | undefined {
  return ms !== undefined && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The agent's own average run time (same as protocol's averageDurationMs; kept local so the planner has no runtime import). */
export function agentAverageMs(workload: Workload): number | undefined {
  return workload.durationCount > 0 ? validDuration(workload.durationSumMs / workload.durationCount) : undefined;
}

/** Average run time over every agent's history, or undefined when no agent has finished a task. */
export function fleetAverageMs(agents: readonly AgentView[]): number | undefined {
  let sum = 0;
  let count = 0;
  // Indexed: it runs once per round over every agent (a for-of allocates a result per step until optimized).
  for (let i = 0; i < agents.length; i += 1) {
    const a = agents[i]!;
    if (a.workload.durationCount > 0 && Number.isFinite(a.workload.durationSumMs)) {
      sum += a.workload.durationSumMs;
      count += a.workload.durationCount;
    }
  }
  return count > 0 ? validDuration(sum / count) : undefined;
}

/** The type's average, else the task's own estimate, else `fallbackMs`. */
export function taskDurationMs(
  task: { type?: string | undefined; estimatedDurationMs?: number | undefined },
  durationsByType: Readonly<Record<string, number>> | undefined,
  fallbackMs: number,
): number {
  const byType =
    task.type !== undefined && durationsByType && Object.hasOwn(durationsByType, task.type) ? validDuration(durationsByType[task.type]) : undefined;
  return byType ?? validDuration(task.estimatedDurationMs) ?? fallbackMs;
}

/**
 * The most an agent's spread counts for (durationSpread), about a log-normal's of σ 1.44. One run
 * far longer than the rest (a task hung for hours) or a hand-edited hash must not tell the planner
 * that tasks spread without bound: a running task so counts at most 4 times its average
 * (Fleet.runningFactor), and the spread margin at most √7 fleet averages per √ of the wait. A run
 * past the squares' cap (2^26 ms, about 18.6 h: effects.ts) can leave its agent's squares short
 * of its uncapped sum's: that agent then reads as a partial history and is left out, not capped.
 */
export const MAX_AGENT_SPREAD = 7;

/**
 * Relative rounding allowed below an agent's least possible squares (sum² / count, all runs
 * equal): its sums are exact integers, but count × squares and sum² are doubles.
 */
const ROUNDING = 1e-9;

/**
 * How widely run times spread: the squared coefficient of variation (variance over mean²), each
 * agent's about its own average, capped at MAX_AGENT_SPREAD, averaged over the agents whose
 * history has squares (Workload.durationSqSum) and at least two runs, weighted by their runs.
 * About its own: one agent runs every task at its own speed, so agents of different speeds do not
 * pass for spread (constant tasks on a fast and a slow agent spread 0). Per agent, then averaged
 * (not pooled sums): pooled, one agent's outlier would set the whole fleet's spread. An agent whose
 * squares fall short of what its sum and count allow holds only part of them (its hash was folded
 * before they were counted, or started over after a hand edit or past 64 bits) and is left out:
 * its spread is unknown, not 0. 0 when no agent tells.
 */
export function durationSpread(agents: readonly AgentView[]): number {
  let weighted = 0;
  let runs = 0;
  for (let i = 0; i < agents.length; i += 1) {
    const { durationSumMs: sum, durationCount: count, durationSqSum: squares } = agents[i]!.workload;
    if (squares === undefined || !Number.isSafeInteger(count) || count < 2 || !(sum > 0) || !Number.isFinite(squares)) continue;
    // The mean square over the squared mean: 1 + the spread. Infinite (sum² / count finite, the
    // squares past double range once multiplied) only for a hand edit: capped below.
    const meanSquareRatio = (squares * count) / (sum * sum);
    if (!(meanSquareRatio >= 1 - ROUNDING)) continue;
    weighted += count * Math.min(MAX_AGENT_SPREAD, Math.max(0, meanSquareRatio - 1));
    runs += count;
  }
  return runs > 0 ? weighted / runs : 0;
}
