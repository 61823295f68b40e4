import { canRun } from "../capabilities.js";
import type { SimAgent, SimTask } from "./model.js";

/**
 * The restricted lower bound on any schedule's makespan. A task needing capabilities C runs only
 * on agents holding C, so for every requirement set C the tasks needing at least C share the
 * capacity (slots × speed) of the agents holding C: none of the work arriving at or after time a
 * can finish before a + that work / that capacity. And no task finishes before it arrives and
 * runs on the fastest agent that can run it.
 */
export function lowerBound(agents: readonly SimAgent[], tasks: readonly SimTask[]): number {
  const holders = agents.map((a) => ({ caps: new Set(a.capabilities ?? []), capacity: a.slots * (a.speed ?? 1), speed: a.speed ?? 1 }));
  let bound = 0;
  for (const task of tasks) {
    const fastest = Math.max(0, ...holders.filter((h) => canRun(h.caps, task.requiredCapabilities)).map((h) => h.speed));
    if (fastest === 0) throw new Error(`no agent can run task ${task.id}`);
    bound = Math.max(bound, task.arrivesAt + task.durationMs / fastest);
  }
  const requirementSets = new Map<string, readonly string[]>([["", []]]);
  for (const task of tasks) requirementSets.set([...task.requiredCapabilities].sort().join("\u0000"), task.requiredCapabilities);
  const latestFirst = [...tasks].sort((a, b) => b.arrivesAt - a.arrivesAt);
  for (const required of requirementSets.values()) {
    const capacity = holders.filter((h) => canRun(h.caps, required)).reduce((sum, h) => sum + h.capacity, 0);
    let work = 0;
    for (const task of latestFirst) {
      if (!required.every((c) => task.requiredCapabilities.includes(c))) continue;
      work += task.durationMs;
      bound = Math.max(bound, task.arrivesAt + work / capacity);
    }
  }
  return bound;
}
