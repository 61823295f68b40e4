export { findBestAgent, type PlacementOptions, type PlacementTask } from "./placement.js";
export { planSteals } from "./plan.js";
export { projectDirectives } from "./project.js";
export { DEFAULT_PLANNER_OPTIONS, type PlannerConfig, type PlannerOptions, type PlannerSnapshot, type TaskSummary } from "./types.js";
export { needsTail, tailLength, victimsToRead } from "./victims.js";
