import { z } from "zod";
import { AgentIdSchema, CapabilitySchema } from "./ids.js";

export const AgentProfileSchema = z.object({
  id: AgentIdSchema,
  capabilities: z.array(CapabilitySchema).max(64).default([]),
  /** Slots: tasks the agent runs at once. */
  concurrency: z.number().int().min(1).max(1000).default(1),
  /** Higher is preferred as a target when scores tie. */
  priority: z.number().int().min(0).max(100).default(0),
});
export type AgentProfileInput = z.input<typeof AgentProfileSchema>;
export type AgentProfile = z.output<typeof AgentProfileSchema>;

/** drained: a draining agent that has handed over its queue and finished what it ran. */
export const AGENT_STATUSES = ["alive", "draining", "drained", "dead"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/**
 * Per-agent workload. Queued and running come from the fleet's load sets, exact (the task
 * scripts keep them); the rest is folded from events and lags the stream by the fold's delay.
 */
export interface Workload {
  queued: number;
  running: number;
  done: number;
  failed: number;
  stolenIn: number;
  stolenOut: number;
  durationSumMs: number;
  durationCount: number;
  /**
   * Sum of the squares of the same run times, ms² (each capped: effects.ts, durationSquare).
   * Absent where the hash has none (folded before it was counted); the balanced planner then leaves
   * the agent out of the fleet's spread (durationSpread).
   */
  durationSqSum?: number | undefined;
  cpu: number;
  memoryMb: number;
  metricsAt: number;
}

/** An agent as the planner and the CLI see it: profile, liveness and workload together. */
export interface AgentView extends AgentProfile {
  status: AgentStatus;
  lastHeartbeat: number;
  workload: Workload;
}

const num = (v: string | undefined) => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
};

/**
 * The folded `workload:<id>` hash. Queued and running are 0 here: they come from the load sets
 * (a hash written by an earlier version may still hold stale copies of them, not read).
 */
export function parseWorkload(hash: Record<string, string>): Workload {
  return {
    queued: 0,
    running: 0,
    done: num(hash.done),
    failed: num(hash.failed),
    stolenIn: num(hash.stolenIn),
    stolenOut: num(hash.stolenOut),
    durationSumMs: num(hash.durationSumMs),
    durationCount: num(hash.durationCount),
    cpu: num(hash.cpu),
    memoryMb: num(hash.memoryMb),
    metricsAt: num(hash.metricsAt),
  };
}

/** A workload with nothing counted yet: every figure 0. */
export const EMPTY_WORKLOAD: Readonly<Workload> = Object.freeze(parseWorkload({}));

export function averageDurationMs(w: Workload): number | undefined {
  return w.durationCount > 0 ? w.durationSumMs / w.durationCount : undefined;
}
