import type { AgentView } from "@worksteal/protocol";
import type { PlannerConfig } from "./types.js";

/** Queued tasks the leader reads from each victim's tail per task a directive may move. */
const TAIL_PER_BATCH = 4;
/** Victims whose tails the leader reads per idle agent, and the bounds of that number. */
const VICTIMS_PER_IDLE = 2;
const MIN_VICTIMS = 16;
const MAX_VICTIMS = 256;

/** How many of a victim's newest queued tasks the leader reads (`PlannerSnapshot.tails`): the planner chooses among these. */
export function tailLength(config: Pick<PlannerConfig, "maxStealBatch">): number {
  return config.maxStealBatch * TAIL_PER_BATCH;
}

/** How many victims' tails the leader reads, the busiest first, when `idle` agents could take work: as many as they could use, within bounds. */
export function victimsToRead(idle: number): number {
  return Math.min(MAX_VICTIMS, Math.max(MIN_VICTIMS, VICTIMS_PER_IDLE * idle));
}

/**
 * Whether the planner may take tasks from this agent in a round, so whether the snapshot needs
 * its tail (`PlannerSnapshot.tails`). balanced: any alive agent with a task waiting for a slot —
 * whether moving it finishes it sooner decides, not a count. classic: at least minTasksToSteal
 * queued, as the seed's coordinator read it.
 */
export function needsTail(agent: AgentView, config: Pick<PlannerConfig, "strategy" | "minTasksToSteal">): boolean {
  if (agent.status !== "alive") return false;
  const { queued, running } = agent.workload;
  if (config.strategy === "classic") return queued >= config.minTasksToSteal;
  return queued >= 1 && queued + Math.max(0, running) > Math.max(1, agent.concurrency);
}
