import type { AgentView } from "@worksteal/protocol";
import { canRun } from "./capabilities.js";
import { agentAverageMs, fleetAverageMs, taskDurationMs } from "./durations.js";
import { compareIds } from "./queue-state.js";

/** What placement needs to know of a task (a TaskSpec or a task record fits). */
export interface PlacementTask {
  requiredCapabilities: readonly string[];
  type?: string | undefined;
  estimatedDurationMs?: number | undefined;
}

export interface PlacementOptions {
  /** Average run time in ms per task type; used for agents without history of their own. */
  durationsByType?: Readonly<Record<string, number>> | undefined;
}

/**
 * The alive agent with every required capability that is expected to finish the task first:
 * (queued + running + 1) × average duration / concurrency. The average is the agent's own, else
 * the task's type average, else its estimate, else the fleet's average, else 1 (so counts decide).
 * Ties: fewer queued per slot, higher priority, lower cpu, then id. Returns the input object
 * itself, or undefined when no capable agent is alive (the caller parks the task).
 */
export function findBestAgent(task: PlacementTask, agents: readonly AgentView[], options: PlacementOptions = {}): AgentView | undefined {
  const fallbackMs = taskDurationMs(task, options.durationsByType, fleetAverageMs(agents) ?? 1);
  let best: { agent: AgentView; finish: number; queuedPerSlot: number } | undefined;
  for (const agent of agents) {
    if (agent.status !== "alive" || !canRun(new Set(agent.capabilities), task.requiredCapabilities)) continue;
    const slots = Math.max(1, agent.concurrency);
    const w = agent.workload;
    const tasks = Math.max(0, w.queued) + Math.max(0, w.running) + 1;
    const candidate = {
      agent,
      finish: (tasks * (agentAverageMs(w) ?? fallbackMs)) / slots,
      queuedPerSlot: Math.max(0, w.queued) / slots,
    };
    if (!best || better(candidate, best)) best = candidate;
  }
  return best?.agent;
}

function better(a: { agent: AgentView; finish: number; queuedPerSlot: number }, b: { agent: AgentView; finish: number; queuedPerSlot: number }): boolean {
  if (a.finish !== b.finish) return a.finish < b.finish;
  if (a.queuedPerSlot !== b.queuedPerSlot) return a.queuedPerSlot < b.queuedPerSlot;
  if (a.agent.priority !== b.agent.priority) return a.agent.priority > b.agent.priority;
  if (a.agent.workload.cpu !== b.agent.workload.cpu) return a.agent.workload.cpu < b.agent.workload.cpu;
  return compareIds(a.agent.id, b.agent.id) < 0;
}
