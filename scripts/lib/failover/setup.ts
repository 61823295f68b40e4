/**
 * The fleet and workload of bench:failover. a1 runs one 1 s task at a time and receives every
 * task; a2 has many slots and receives none. Tasks arrive at FEED_RATE per second, about three per
 * planning round, so a1 always holds a few queued tasks that the balanced planner hands to a2 (a2
 * keeps about FEED_RATE × 1 s tasks running, well below its slots, so it stays a thief). Arrivals
 * pause while a1 holds A1_MAX_QUEUED (e.g. while no leader plans) or a2 nears its slots: the load
 * is bounded.
 */
import type { Queue } from "bullmq";
import type { Directive, Keys } from "@worksteal/protocol";
import type { AgentSpec, Fleet } from "../fleet.js";

export const STEAL_INTERVAL_MS = 100;
export const MAX_STEAL_BATCH = 10;
export const REPLICA_IDS = ["r1", "r2", "r3"] as const;
export const KINDS = ["crash", "graceful"] as const;
export type Kind = (typeof KINDS)[number];

export const TASK_MS = 1000;
export const FEED_RATE = 30;
export const FEED_TICK_MS = 20;
export const A1_MAX_QUEUED = 50;
export const A2_CONCURRENCY = 50;
export const A2_MAX_LOAD = A2_CONCURRENCY - 5;
export const AGENTS: AgentSpec[] = [
  { id: "a1", capabilities: [], concurrency: 1, speed: 1 },
  { id: "a2", capabilities: [], concurrency: A2_CONCURRENCY, speed: 1 },
];

/** What the measurement works with, once the fleet runs. */
export interface Bench {
  fleet: Fleet;
  keys: Keys;
  directives: Queue<Directive>;
  leaseTtlMs: number;
  /** The replicas' heartbeat period: they read the same environment as this process. */
  heartbeatIntervalMs: number;
}
