import type { PlannedDirective } from "@worksteal/protocol";
import { planBalanced } from "./balanced.js";
import { planClassic } from "./classic.js";
import { DEFAULT_PLANNER_OPTIONS, type PlannerConfig, type PlannerOptions, type PlannerSnapshot } from "./types.js";

/**
 * One planning round: snapshot in, directives out. Pure and deterministic (agents are taken in id
 * order). Only alive agents are sources or targets: a draining agent's queue is handed over by the
 * reaper, and a dead one's by reaping, so the planner leaves both alone. Directive ids are
 * `r<round>-<n>`, n from 1 in planning order.
 */
export function planSteals(snapshot: PlannerSnapshot, config: PlannerConfig): PlannedDirective[] {
  const maxStealBatch = Math.floor(config.maxStealBatch);
  if (!config.enabled || !(maxStealBatch >= 1)) return [];
  const options = resolveOptions(config);
  const normalised = { ...config, maxStealBatch };
  // Each strategy numbers its directives itself: a round may plan thousands, each built once.
  return config.strategy === "classic" ? planClassic(snapshot, normalised, options) : planBalanced(snapshot, normalised, options);
}

function resolveOptions(config: PlannerConfig): PlannerOptions {
  const options: PlannerOptions = { ...DEFAULT_PLANNER_OPTIONS };
  for (const key of Object.keys(options) as Array<keyof PlannerOptions>) {
    const value = config[key];
    if (typeof value === "number" && Number.isFinite(value)) options[key] = value;
  }
  return options;
}
