import type { AgentView, Config } from "@worksteal/protocol";

/** A queued task as the leader reads it from the tail of an agent's queue. */
export interface TaskSummary {
  id: string;
  type: string;
  requiredCapabilities: readonly string[];
  estimatedDurationMs?: number | undefined;
  /** 0–1000, larger runs first on its agent (0 when absent). */
  priority?: number | undefined;
  /** 1 on the agent it was submitted to, one more for each move since (absent: unknown, taken as 1). */
  epoch?: number | undefined;
}

/** What the planner sees in one round. The caller passes folded workloads with in-flight directives projected in. */
export interface PlannerSnapshot {
  agents: readonly AgentView[];
  /** Per agent id: the newest queued tasks, newest first. Only these can be stolen. */
  tails: Readonly<Record<string, readonly TaskSummary[]>>;
  /** Average run time in ms per task type (sum / count of the durations hash). */
  durationsByType?: Readonly<Record<string, number>> | undefined;
  /**
   * How many completions each of those averages rests on. With it, a task's own estimate is a prior
   * that the type's average outweighs as completions accumulate; without it, the average wins outright.
   */
  durationCountsByType?: Readonly<Record<string, number>> | undefined;
  /** Planning round, used for directive ids `r<round>-<n>`. */
  round: number;
}

/** Tunables beyond the protocol Config. Every field has a default (DEFAULT_PLANNER_OPTIONS). */
export interface PlannerOptions {
  /** balanced: a move must shorten max(drain(victim), drain(thief)) by more than this share of the task's drain time… */
  marginTaskFraction: number;
  /** …and leave the thief draining sooner than the victim by more than this share of the victim's drain time. */
  marginFraction: number;
  /**
   * balanced: when run times spread (agents' durationSqSum), a move must also leave the task on
   * the thief finishing sooner by this many times √spread × the fleet's average run time, times √
   * of the tasks that would wait for a slot there (its queued and running tasks and this one,
   * beyond its slots; none: no margin), over its capacity: a heuristic for the uncertainty of that
   * wait, not its standard deviation. A thief with a queue may be slower than its average says,
   * and a task sent after a coin flip is often sent on again.
   */
  marginSpread: number;
  /** balanced: task duration when neither type average, estimate nor any agent history is known. */
  defaultTaskDurationMs: number;
  /**
   * balanced: a task expected to take less than this is not worth a move (Dask never steals a
   * task whose compute time is negligible against moving it).
   */
  minTaskMs: number;
  /** balanced: completions of a type that weigh as much as a task's own estimate (needs durationCountsByType). */
  estimateWeight: number;
  /**
   * balanced: up to this many tail tasks in a round, a trial run of the greedy finds the drain
   * times its moves head for (exact, a move per task); above, water levels computed directly (levels.ts).
   */
  trialTasks: number;
  /** classic: overloaded when taskCount > this … */
  overloadedTaskCount: number;
  /** … or cpu > this. */
  overloadedCpu: number;
  /** classic: underloaded when taskCount < this … */
  underloadedTaskCount: number;
  /** … and cpu < this. */
  underloadedCpu: number;
  /** classic: a target is accepted only when its score is above this. */
  minTargetScore: number;
}

export const DEFAULT_PLANNER_OPTIONS: Readonly<PlannerOptions> = Object.freeze({
  marginTaskFraction: 0.5,
  marginFraction: 0.05,
  marginSpread: 1,
  defaultTaskDurationMs: 1000,
  minTaskMs: 1,
  estimateWeight: 3,
  trialTasks: 1000,
  overloadedTaskCount: 8,
  overloadedCpu: 80,
  underloadedTaskCount: 2,
  underloadedCpu: 30,
  minTargetScore: 0.5,
});

export type PlannerConfig = Pick<Config, "enabled" | "strategy" | "stealThreshold" | "maxStealBatch" | "minTasksToSteal"> & Partial<PlannerOptions>;
