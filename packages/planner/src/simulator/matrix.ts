import type { PlannerConfig } from "../types.js";
import { lowerBound } from "./lower-bound.js";
import { metricsOf, type SimMetrics } from "./metrics.js";
import type { BacklogSample, SimPolicy } from "./model.js";
import type { Scenario } from "./scenarios.js";
import { simulate } from "./simulate.js";
import { generateTasks } from "./workload.js";

/** The baselines and strategies a scenario is run under (lpt: offline, it knows every duration). */
export const POLICY_NAMES = ["none", "classic", "balanced", "shared", "lpt"] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export interface MatrixSettings {
  seed: number;
  stealIntervalMs: number;
  eventLagMs: number;
  moveCostMs: number;
  /** Rounds also run on events: an agent idle, a task queued behind busy slots (SimPolicy's eventRounds). */
  eventRounds: boolean;
  /** Rounds plan only while an agent is idle beside a backlog (SimPolicy's idleGate). */
  idleGate: boolean;
  /** Workloads carry their run times' squares (SimPolicy's secondMoments), as the leader reads them. */
  secondMoments?: boolean | undefined;
  /** The coordinator's config for both strategies (strategy is set per row). */
  config: Omit<PlannerConfig, "strategy">;
}

export interface MatrixRow extends SimMetrics {
  scenario: string;
  policy: PolicyName;
  tasks: number;
  lowerBoundMs: number;
  /** makespan / lower bound. */
  ratio: number;
}

/** Every scenario under every policy, on the same seeded workload per scenario. */
export function runMatrix(scenarios: readonly Scenario[], policies: readonly PolicyName[], settings: MatrixSettings): MatrixRow[] {
  const rows: MatrixRow[] = [];
  for (const scenario of scenarios) {
    const tasks = generateTasks(scenario.streams, settings.seed);
    const bound = lowerBound(scenario.agents, tasks);
    for (const policy of policies) {
      const metrics = metricsOf(simulate(scenario.agents, tasks, policyOf(policy, settings)));
      rows.push({ scenario: scenario.name, policy, tasks: tasks.length, lowerBoundMs: bound, ratio: metrics.makespanMs / bound, ...metrics });
    }
  }
  return rows;
}

/** One scenario under one policy with every agent's backlog sampled, for the report's charts. */
export function backlogOf(scenario: Scenario, policy: PolicyName, settings: MatrixSettings, sampleEveryMs: number): BacklogSample[] {
  const tasks = generateTasks(scenario.streams, settings.seed);
  return simulate(scenario.agents, tasks, policyOf(policy, settings), { sampleEveryMs }).backlog ?? [];
}

function policyOf(name: PolicyName, settings: MatrixSettings): SimPolicy {
  if (name === "none" || name === "shared" || name === "lpt") return { kind: name };
  return {
    kind: "steal",
    config: { ...settings.config, strategy: name },
    stealIntervalMs: settings.stealIntervalMs,
    eventLagMs: settings.eventLagMs,
    moveCostMs: settings.moveCostMs,
    eventRounds: settings.eventRounds,
    idleGate: settings.idleGate,
    secondMoments: settings.secondMoments,
  };
}
