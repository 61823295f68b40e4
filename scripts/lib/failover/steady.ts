import type { Queue } from "bullmq";
import type { Directive } from "@worksteal/protocol";
import { sleep } from "@worksteal/testkit";
import { redisClock } from "../readiness.js";
import { type Bench, REPLICA_IDS, STEAL_INTERVAL_MS } from "./setup.js";

/** Steady: over the last STEADY_WINDOW_MS, at least this share of the leader's rounds queued a directive. */
const STEADY_WINDOW_MS = 1000;
const STEADY_MIN_SHARE = 0.7;
const STEADY_TIMEOUT_MS = 30_000;

export interface SteadyState {
  holder: string;
  fence: number;
  /** Planning rounds of this leadership in the window, and how many of them queued a directive. */
  rounds: number;
  withDirective: number;
}

/**
 * Waits until every replica runs, one holds the lease, and over the last STEADY_WINDOW_MS at
 * least STEADY_MIN_SHARE of that leader's planning rounds queued a directive (round numbers are
 * in directive ids and count every round, with or without directives). Throws after
 * STEADY_TIMEOUT_MS: the workload then does not produce directives continuously.
 */
export async function waitSteady(bench: Bench): Promise<SteadyState> {
  const { fleet, keys, directives } = bench;
  const deadline = Date.now() + STEADY_TIMEOUT_MS;
  const expected = Math.floor(STEADY_WINDOW_MS / STEAL_INTERVAL_MS);
  let last = "";
  while (Date.now() < deadline) {
    const lease = await fleet.redis.hgetall(keys.leader);
    const fence = Number(lease.fence);
    if (lease.holder && Number.isInteger(fence)) {
      const before = await roundsOf(directives, fence);
      await sleep(STEADY_WINDOW_MS);
      const after = await roundsOf(directives, fence);
      const still = await fleet.redis.hget(keys.leader, "fence");
      const maxBefore = Math.max(0, ...before);
      const window = [...after].filter((r) => r > maxBefore);
      const rounds = after.size === 0 ? 0 : Math.max(...after) - maxBefore;
      const alive = await allReplicasBeating(bench);
      const state = { holder: lease.holder, fence, rounds, withDirective: window.length };
      last = `leader ${lease.holder} fence ${fence}: ${window.length} of ${rounds} rounds queued a directive in ${STEADY_WINDOW_MS} ms`;
      if (alive && Number(still) === fence && before.size > 0 && rounds >= expected * 0.7 && window.length >= rounds * STEADY_MIN_SHARE) return state;
    } else {
      last = "no leader";
      await sleep(50);
    }
  }
  throw new Error(`the workload does not produce directives continuously (${STEADY_TIMEOUT_MS} ms): last look: ${last}`);
}

/** Every replica heartbeated within two heartbeat intervals (Redis clock): none has died or hangs. */
async function allReplicasBeating({ fleet, keys, heartbeatIntervalMs }: Bench): Promise<boolean> {
  const [beats, now] = await Promise.all([fleet.redis.hgetall(keys.replicas), redisClock(fleet.redis)]);
  return REPLICA_IDS.every((id) => now - Number(beats[id] ?? 0) <= 2 * heartbeatIntervalMs);
}

/** Round numbers of the directives of `fence` among the newest few hundred. */
async function roundsOf(queue: Queue<Directive>, fence: number): Promise<Set<number>> {
  const ids = await queue.getRanges(["wait", "active", "delayed", "prioritized", "completed", "failed"], 0, 299, false);
  const rounds = new Set<number>();
  for (const id of ids) {
    const m = /^f(\d+)-r(\d+)-/.exec(id);
    if (m && Number(m[1]) === fence) rounds.add(Number(m[2]));
  }
  return rounds;
}
