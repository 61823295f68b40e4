/**
 * The skewed workload shared by the demo and the benchmarks: a fixed fleet of six agents with
 * mixed capabilities and speeds, and tasks mostly sent to one or two of them, as happens when
 * affinity or a hot key routes work unevenly.
 */
import type { SubmitInput } from "@worksteal/client";
import type { AgentSpec } from "./fleet.js";
import { seededRandom } from "../../packages/planner/src/simulator/random.js";

/** The one queue that every agent pulls from in the benchmark's shared-queue baseline. */
export const SHARED_QUEUE = "shared-baseline";

export const DEMO_AGENTS: AgentSpec[] = [
  { id: "a1", capabilities: ["gpu"], concurrency: 2, speed: 1 },
  { id: "a2", capabilities: [], concurrency: 2, speed: 1.5 },
  { id: "a3", capabilities: ["gpu"], concurrency: 1, speed: 0.8 },
  { id: "a4", capabilities: [], concurrency: 2, speed: 1 },
  { id: "a5", capabilities: ["ssd"], concurrency: 1, speed: 1 },
  { id: "a6", capabilities: ["gpu", "ssd"], concurrency: 2, speed: 1.2 },
];

export interface WorkloadOptions {
  tasks: number;
  seed?: number;
  /** Mean task duration in ms at speed 1. */
  meanMs?: number;
}

/** Tasks with seeded durations; 60% sent to a1 and 25% to a2, the rest placed by worksteal. */
export function skewedWorkload(options: WorkloadOptions): SubmitInput[] {
  const random = seededRandom(options.seed ?? 42);
  const mean = options.meanMs ?? 40;
  return Array.from({ length: options.tasks }, (_, i) => {
    const ms = Math.round(Math.min(mean * 5, -Math.log(1 - random()) * mean) + 5);
    const needsGpu = random() < 0.1;
    const route = random();
    const agentId = needsGpu ? (route < 0.85 ? "a1" : undefined) : route < 0.6 ? "a1" : route < 0.85 ? "a2" : undefined;
    return {
      id: `task-${i}`,
      type: needsGpu ? "render" : "resize",
      payload: { ms },
      requiredCapabilities: needsGpu ? ["gpu"] : [],
      estimatedDurationMs: ms,
      ...(agentId ? { agentId } : {}),
    };
  });
}

/**
 * The makespan no schedule can beat: total work over the fleet's total speed-weighted slots,
 * and never less than the longest task on the fastest capable agent.
 */
export function makespanLowerBound(tasks: SubmitInput[], agents: AgentSpec[]): number {
  const work = tasks.reduce((sum, t) => sum + (t.payload as { ms: number }).ms, 0);
  const capacity = agents.reduce((sum, a) => sum + a.concurrency / a.speed, 0);
  const fastest = Math.min(...agents.map((a) => a.speed));
  const longest = Math.max(...tasks.map((t) => (t.payload as { ms: number }).ms)) * fastest;
  return Math.max(work / capacity, longest);
}
