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
 * How widely run times spread: the squared coefficient of variation (variance over mean²),
 * pooled over the agents whose history has squares (Workload.durationSqSum) and at least two
 * runs, each agent's spread about its own average. About its own: one agent runs every task at
 * its own speed, so agents of different speeds do not pass for spread (constant tasks on a fast
 * and a slow agent spread 0). 0 when no agent tells.
 */
export function durationSpread(agents: readonly AgentView[]): number {
  let within = 0;
  let scale = 0;
  for (let i = 0; i < agents.length; i += 1) {
    const { durationSumMs: sum, durationCount: count, durationSqSum: squares } = agents[i]!.workload;
    if (squares === undefined || !(count >= 2) || !Number.isFinite(sum) || !Number.isFinite(squares)) continue;
    // count × mean², the part of the squares the agent's average explains.
    const explained = (sum * sum) / count;
    within += Math.max(0, squares - explained);
    scale += explained;
  }
  return scale > 0 ? within / scale : 0;
}
