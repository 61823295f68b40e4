/**
 * Benchmark: how long the replica set goes without planning when its leader dies.
 *
 *   pnpm bench:failover [--trials 20] [--lease-ttl 2000] [--json]
 *
 * A private redis-server (or REDIS_URL, with a namespace of its own), three coordinator
 * processes r1 r2 r3, and a constant imbalance: agent a1 (one slot) receives every task, agent
 * a2 (many slots) receives none and is never saturated, so each planning round of the leader
 * moves what reached a1 since the last one and queues a directive (lib/failover/setup.ts).
 *
 * One trial (lib/failover/trial.ts): read the lease {holder, fence} and Redis TIME in one MULTI
 * (killAt), signal the holder at once (crash: SIGKILL; graceful: SIGTERM, which releases the
 * lease), then poll the directive queue for the first directive whose fence is above the old
 * one. Failover is that directive's createdAt (stamped by the new leader from Redis TIME) minus
 * killAt, both on the Redis clock, so neither polling nor this process's scheduling enters the
 * figure. The stopped replica is then started again under the same id, and the next trial waits
 * until directives flow again. Kinds alternate, crash first. A random pause (up to the renewal
 * period) before each signal keeps the kill from landing at the same phase of the replicas'
 * lease timers each time.
 *
 * Goals: graceful < 300 ms; crash < lease TTL + 300 ms. A trial with no new directive within
 * 5 × TTL is a failure, reported as such. Exits 1 when a kind misses its goal or the run breaks
 * off (after reporting the trials made), 2 without Redis.
 */
import { Queue } from "bullmq";
import { z } from "zod";
import { loadConfig } from "@worksteal/config";
import { DIRECTIVE_QUEUE, type Directive, keysFor } from "@worksteal/protocol";
import { type ArgsOf, JSON_FLAG, option, runScript } from "./lib/args.js";
import { startFleet } from "./lib/fleet.js";
import { Feeder } from "./lib/failover/feeder.js";
import { report, rows } from "./lib/failover/report.js";
import { A2_CONCURRENCY, AGENTS, type Bench, FEED_RATE, KINDS, MAX_STEAL_BATCH, REPLICA_IDS, STEAL_INTERVAL_MS, TASK_MS } from "./lib/failover/setup.js";
import { type SteadyState, waitSteady } from "./lib/failover/steady.js";
import { runTrial, type Sample } from "./lib/failover/trial.js";
import { progress } from "./lib/report.js";

const COMMAND = {
  name: "bench:failover",
  usage: "pnpm bench:failover",
  summary:
    "Three coordinator processes under a steady imbalance; each trial kills the leader (SIGKILL, then SIGTERM) and measures, on the Redis clock, the time to the new leader's first directive.",
  options: {
    trials: option(z.coerce.number().int().min(1).max(1000), { default: "20", valueName: "N", help: "trials of each kind (crash, graceful)" }),
    "lease-ttl": option(z.coerce.number().int().min(200).max(60_000), { default: "2000", valueName: "MS", help: "the replicas' lease TTL" }),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

async function main(args: Args): Promise<number> {
  const run = { samples: [] as Sample[], steadiness: undefined as SteadyState | undefined };
  let failure: Error | undefined;
  try {
    await measure(args, run);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
  }
  const table = rows(run.samples, args["lease-ttl"]);
  if (run.samples.length > 0) report(table, { json: args.json, leaseTtlMs: args["lease-ttl"], ...run });
  // A broken-off run is reported with the trials it made, then fails with its error.
  if (failure !== undefined) throw failure;
  return table.every((r) => r.pass) ? 0 : 1;
}

/** Starts the fleet and the feeder, runs the trials into `run`, and stops everything, also when a trial throws. */
async function measure(args: Args, run: { samples: Sample[]; steadiness: SteadyState | undefined }): Promise<void> {
  const namespace = `bench-failover-${process.pid}`;
  const keys = keysFor(namespace);
  progress(`[setup] redis ${process.env.REDIS_URL ? "from REDIS_URL" : "private redis-server"}, namespace ${namespace}`);
  const fleet = await startFleet({
    namespace,
    agents: AGENTS,
    coordinators: 0,
    env: {
      WORKSTEAL_LEASE_TTL_MS: String(args["lease-ttl"]),
      WORKSTEAL_STEAL_INTERVAL: String(STEAL_INTERVAL_MS),
      WORKSTEAL_MAX_STEAL_BATCH: String(MAX_STEAL_BATCH),
    },
  });
  let feeder: Feeder | undefined;
  const directives = new Queue<Directive>(DIRECTIVE_QUEUE, { connection: fleet.redis, prefix: keys.bullPrefix });
  try {
    for (const id of REPLICA_IDS) await fleet.startCoordinator({ WORKSTEAL_REPLICA_ID: id });
    progress(
      `[setup] replicas ${REPLICA_IDS.join(" ")} and agents a1 (1 slot) a2 (${A2_CONCURRENCY} slots) up; feeding a1 ${FEED_RATE} tasks/s of ${TASK_MS} ms`,
    );
    const bench: Bench = { fleet, keys, directives, leaseTtlMs: args["lease-ttl"], heartbeatIntervalMs: loadConfig().heartbeatIntervalMs };
    feeder = new Feeder(fleet, progress);
    feeder.start();
    const steadiness = await waitSteady(bench);
    run.steadiness = steadiness;
    progress(
      `[setup] directives flow: ${steadiness.withDirective}/${steadiness.rounds} rounds of leader ${steadiness.holder} (fence ${steadiness.fence}) queued one`,
    );
    for (let trial = 1; trial <= args.trials; trial++) {
      for (const kind of KINDS) {
        await waitSteady(bench);
        const sample = await runTrial(bench, kind, trial);
        run.samples.push(sample);
        progress(`[${kind} ${trial}/${args.trials}] ${describeSample(sample)}`);
      }
    }
  } finally {
    await feeder?.stop();
    await directives.close();
    await fleet.stop().catch((error: unknown) => progress(`bench:failover: cleanup: ${String(error)}`));
  }
}

function describeSample(sample: Sample): string {
  const before = `${sample.oldHolder} (fence ${sample.oldFence}, ttl left ${sample.remainingTtlMs} ms) -> `;
  if (sample.failoverMs === null) return `${before}FAILED: ${sample.note ?? "no directive"}`;
  return (
    `${before}${sample.newHolder} (fence ${sample.newFence}): failover ${sample.failoverMs} ms (lease ${sample.leaseGapMs ?? "?"} + plan ${sample.planMs ?? "?"})` +
    (sample.note ? ` [${sample.note}]` : "")
  );
}

await runScript(COMMAND, main);
