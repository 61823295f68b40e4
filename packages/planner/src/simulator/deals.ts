import { lowerBound } from "./lower-bound.js";
import type { SimTask } from "./model.js";
import { seededRandom } from "./random.js";
import type { Scenario } from "./scenarios.js";
import { simulate } from "./simulate.js";
import { generateTasks } from "./workload.js";

/**
 * The same workload with its durations dealt anew: every task keeps its id, arrival, type,
 * capabilities, target and estimate, and takes the duration of a task of the same type and
 * capabilities, shuffled (Fisher–Yates) within each such class. A policy that does not know
 * durations sees no difference between two deals: everything it reads is the same until tasks run.
 */
export function dealDurations(tasks: readonly SimTask[], random: () => number): SimTask[] {
  const classes = new Map<string, number[]>();
  tasks.forEach((task, i) => {
    const key = JSON.stringify([task.type, [...task.requiredCapabilities].sort()]);
    const members = classes.get(key);
    if (members) members.push(i);
    else classes.set(key, [i]);
  });
  const dealt = tasks.map((task) => ({ ...task }));
  for (const members of classes.values()) {
    const durations = members.map((i) => tasks[i]!.durationMs);
    for (let i = durations.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [durations[i], durations[j]] = [durations[j]!, durations[i]!];
    }
    members.forEach((task, k) => (dealt[task]!.durationMs = durations[k]!));
  }
  return dealt;
}

/** One seed's workload under the shared queue, over `deals` deals of its durations. */
export interface DealtShared {
  seed: number;
  /** The shared queue's makespan over the lower bound, per deal (each deal's own bound). */
  ratios: number[];
  /** The shared queue's makespan on each deal over its makespan on the workload as drawn. */
  overDrawn: number[];
}

/**
 * What one shared queue (ideal pull) gets on a scenario's workloads when only the durations'
 * order changes: the mean of `ratios` is what any work-conserving policy that does not know
 * durations can expect on that workload, free of one order's luck, and the spread of `overDrawn`
 * is how far two such equally good schedules fall apart on one draw. Seeded (`dealSeed`), pure.
 */
export function dealtShared(scenario: Scenario, seeds: readonly number[], deals: number, dealSeed: number): DealtShared[] {
  const random = seededRandom(dealSeed);
  return seeds.map((seed) => {
    const tasks = generateTasks(scenario.streams, seed);
    const drawn = simulate(scenario.agents, tasks, { kind: "shared" }).makespanMs;
    const ratios: number[] = [];
    const overDrawn: number[] = [];
    for (let deal = 0; deal < deals; deal += 1) {
      const dealt = dealDurations(tasks, random);
      const makespanMs = simulate(scenario.agents, dealt, { kind: "shared" }).makespanMs;
      ratios.push(makespanMs / lowerBound(scenario.agents, dealt));
      overDrawn.push(makespanMs / drawn);
    }
    return { seed, ratios, overDrawn };
  });
}
