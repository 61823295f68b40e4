import { describeMachine, printJson } from "../report.js";
import { maximum, median, quantile } from "../stats.js";
import { A1_MAX_QUEUED, AGENTS, FEED_RATE, KINDS, type Kind, MAX_STEAL_BATCH, REPLICA_IDS, STEAL_INTERVAL_MS, TASK_MS } from "./setup.js";
import type { SteadyState } from "./steady.js";
import type { Sample } from "./trial.js";

export interface Row {
  kind: Kind;
  trials: number;
  failures: number;
  medianMs: number | null;
  p90Ms: number | null;
  worstMs: number | null;
  goalMs: number;
  pass: boolean;
  medianLeaseGapMs: number | null;
  medianPlanMs: number | null;
  medianRemainingTtlMs: number | null;
}

/**
 * One row per kind. Goals: graceful < 300 ms; crash < lease TTL + 300 ms (a crashed leader's
 * lease must run out first: its remaining TTL at the kill, at most the TTL, is the floor). A kind
 * passes when every one of its trials made its goal.
 */
export function rows(samples: readonly Sample[], leaseTtlMs: number): Row[] {
  return KINDS.map((kind) => {
    const mine = samples.filter((s) => s.kind === kind);
    const measured = (pick: (s: Sample) => number | null) => mine.flatMap((s) => pick(s) ?? []);
    const ok = measured((s) => s.failoverMs);
    const goalMs = kind === "graceful" ? 300 : leaseTtlMs + 300;
    const worst = maximum(ok) ?? null;
    const failures = mine.length - ok.length;
    return {
      kind,
      trials: mine.length,
      failures,
      medianMs: median(ok) ?? null,
      p90Ms: quantile(ok, 0.9) ?? null,
      worstMs: worst,
      goalMs,
      pass: mine.length > 0 && failures === 0 && worst !== null && worst < goalMs,
      medianLeaseGapMs: median(measured((s) => s.leaseGapMs)) ?? null,
      medianPlanMs: median(measured((s) => s.planMs)) ?? null,
      medianRemainingTtlMs: median(mine.map((s) => s.remainingTtlMs)) ?? null,
    };
  });
}

export function report(
  table: readonly Row[],
  run: { json: boolean; leaseTtlMs: number; steadiness: SteadyState | undefined; samples: readonly Sample[] },
): void {
  const machine = describeMachine();
  if (run.json) {
    printJson({
      leaseTtlMs: run.leaseTtlMs,
      stealIntervalMs: STEAL_INTERVAL_MS,
      maxStealBatch: MAX_STEAL_BATCH,
      replicas: REPLICA_IDS.length,
      machine,
      workload: { agents: AGENTS, taskMs: TASK_MS, feedRatePerSec: FEED_RATE, a1MaxQueued: A1_MAX_QUEUED },
      steadiness: run.steadiness ?? null,
      rows: table,
      samples: run.samples,
    });
    return;
  }
  console.log(`failover: ${REPLICA_IDS.length} replicas, lease TTL ${run.leaseTtlMs} ms, stealInterval ${STEAL_INTERVAL_MS} ms; ${machine}`);
  console.log("failover = createdAt of the first directive with a higher fence − Redis TIME just before the signal; pass = every trial below the goal");
  console.log("kind      trials  fail  median ms  p90 ms  worst ms  goal ms  result  (median: ttl left, lease gap, plan)");
  const f = (x: number | null) => (x === null ? "-" : String(Math.round(x)));
  for (const r of table) {
    console.log(
      `${r.kind.padEnd(9)} ${String(r.trials).padStart(6)}  ${String(r.failures).padStart(4)}  ${f(r.medianMs).padStart(9)}  ${f(r.p90Ms).padStart(6)}  ${f(r.worstMs).padStart(8)}  ${`< ${r.goalMs}`.padStart(7)}  ${(r.pass ? "pass" : "FAIL").padStart(6)}  (${f(r.medianRemainingTtlMs)}, ${f(r.medianLeaseGapMs)}, ${f(r.medianPlanMs)})`,
    );
  }
}
