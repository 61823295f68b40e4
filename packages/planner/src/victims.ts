import type { AgentView } from "@worksteal/protocol";
import type { PlannerConfig } from "./types.js";

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
