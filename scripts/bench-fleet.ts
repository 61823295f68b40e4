/**
 * Benchmark: what one coordinator costs for a fleet that needs nothing from it.
 *
 *   pnpm bench:fleet [--agents 1000,10000|none] [--tasks 100000] [--seconds 30] [--built] [--reaction-intervals 1000,250|none] [--json]
 *
 * For each fleet size, on a private redis-server: virtual agents (lib/fleet-bench/virtual-agents.ts:
 * registered and heartbeating every 2 s through the store, no worker) hold the tasks between them
 * evenly, so the fleet is balanced; one coordinator process (packages/coordinator/src/main.ts
 * through tsx, or with --built packages/coordinator/dist/main.js, as deployed: run `pnpm build`
 * first) leads. Reported over the measured window: the coordinator's resident memory and CPU (/proc),
 * what that memory holds (V8's heap reserved and used, memory outside it: process.memoryUsage() as
 * the coordinator prints it each second, lib/fleet-bench/memory-probe.mjs, loaded with --import),
 * its leader round, steal planning phases and maintenance passes (its own /metrics histograms),
 * the fold lag (XINFO: events not yet folded, and how far behind the newest event the oldest
 * unread one is), and the Redis commands per second it causes: the window's rate less what the
 * heartbeats cost, per heartbeat as measured with the agents alone on the same Redis in the same
 * run, in total and by command name (INFO commandstats). The window opens once the coordinator has folded the events the setup appended (the
 * submits'), or after --catch-up-seconds, and says which.
 *
 * Then stealing's reaction (lib/fleet-bench/reaction.ts), at each --reaction-intervals value of
 * stealInterval: a burst submitted to one of four idle agent processes, to the first of its
 * tasks running on another agent, with where the time went (the directive planned, taken by an
 * executor, the task moved, started).
 */
import { loadavg } from "node:os";
import { z } from "zod";
import { hasRedisServerBinary, REDIS_SERVER_MISSING } from "@worksteal/testkit";
import { type ArgsOf, flag, JSON_FLAG, option, runScript } from "./lib/args.js";
import { NoRedisError } from "./lib/fleet.js";
import { MEMORY_PARTS } from "./lib/fleet-bench/observe.js";
import { measureReaction, type ReactionFigures } from "./lib/fleet-bench/reaction.js";
import { type FleetFigures, type Quantiles, runFleet } from "./lib/fleet-bench/run-fleet.js";
import { describeMachine, printJson, progress } from "./lib/report.js";

const COMMAND = {
  name: "bench:fleet",
  usage: "pnpm bench:fleet",
  summary: "One coordinator's memory, CPU, leader round, maintenance, fold lag and Redis commands for a balanced fleet of virtual agents.",
  options: {
    agents: option(
      z
        .string()
        .transform((s) => (s === "none" ? [] : s.split(",").map(Number)))
        .pipe(z.array(z.number().int().min(1).max(100_000))),
      { default: "1000,10000", valueName: "LIST", help: "fleet sizes to run, comma-separated (none: no fleet run)" },
    ),
    tasks: option(z.coerce.number().int().min(0).max(10_000_000), { default: "100000", valueName: "N", help: "queued tasks, spread evenly over the agents" }),
    seconds: option(z.coerce.number().int().min(5).max(3600), { default: "30", valueName: "S", help: "seconds measured, after the warm-up" }),
    "warmup-seconds": option(z.coerce.number().int().min(0).max(600), {
      default: "15",
      valueName: "S",
      help: "seconds the coordinator runs before the window",
    }),
    "catch-up-seconds": option(z.coerce.number().int().min(0).max(3600), {
      default: "180",
      valueName: "S",
      help: "after the warm-up, at most this long for the coordinator to fold the setup's events before the window",
    }),
    "baseline-seconds": option(z.coerce.number().int().min(2).max(600), { default: "8", valueName: "S", help: "seconds of agents alone, for the baseline" }),
    built: flag("run the built coordinator (packages/coordinator/dist; run pnpm build first), not its source through tsx"),
    "steal-interval": option(z.coerce.number().int().min(10).max(60_000), { default: "1000", valueName: "MS", help: "the coordinator's stealInterval" }),
    "reaction-intervals": option(
      z
        .string()
        .transform((s) => (s === "none" ? [] : s.split(",").map(Number)))
        .pipe(z.array(z.number().int().min(10).max(60_000))),
      { default: "1000,250", valueName: "LIST", help: "stealInterval values (ms) to measure stealing's reaction at (none: no reaction run)" },
    ),
    trials: option(z.coerce.number().int().min(1).max(1000), { default: "10", valueName: "N", help: "bursts per reaction measurement" }),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

const ms = (seconds: number | undefined) => (seconds === undefined ? "-" : `${Math.round(seconds * 1000)}`);
const fixed = (n: number | undefined, digits = 0) => (n === undefined ? "-" : n.toFixed(digits));
const p50p99 = (q: Quantiles) => `${ms(q.p50)} / ${ms(q.p99)} (${q.count})`;

function table(results: FleetFigures[]): string {
  const rows: Array<[string, (f: FleetFigures) => string]> = [
    ["coordinator RSS MB (median / peak)", (f) => `${fixed(f.rssMb.median)} / ${fixed(f.rssMb.peak)}`],
    ...MEMORY_PARTS.map((part): [string, (f: FleetFigures) => string] => [
      `  ${part} MB (median / peak)`,
      (f) => `${fixed(f.memoryMb[part].median)} / ${fixed(f.memoryMb[part].peak)}`,
    ]),
    ["coordinator CPU % of a core", (f) => fixed(f.cpuPercent)],
    ["leader round ms p50 / p99 (rounds)", (f) => p50p99(f.leaderRound)],
    ["  fleet read ms p50 / p99", (f) => p50p99(f.planPhases.fleet)],
    ["  snapshot ms p50 / p99", (f) => p50p99(f.planPhases.snapshot)],
    ["  plan ms p50 / p99", (f) => p50p99(f.planPhases.plan)],
    ["  write ms p50 / p99", (f) => p50p99(f.planPhases.write)],
    ["maintenance pass ms mean / max (passes)", (f) => `${ms(f.maintenancePass.mean)} / ≤${ms(f.maintenancePass.max)} (${f.maintenancePass.count})`],
    ["fold lag events end / max", (f) => `${f.foldLag.endEvents} / ${f.foldLag.maxEvents}`],
    ["fold lag s end / max", (f) => `${fixed(f.foldLag.endSeconds, 2)} / ${fixed(f.foldLag.maxSeconds, 2)}`],
    ["setup's events folded after s", (f) => (f.catchUpSeconds === undefined ? "not yet" : fixed(f.catchUpSeconds))],
    ["events appended /s", (f) => fixed(f.eventsPerSecond)],
    ["Redis commands/s from the coordinator", (f) => fixed(f.redisOpsPerSecond)],
    ["  with calls inside scripts", (f) => fixed(f.redisCallsPerSecond)],
    [
      "  most frequent calls/s",
      (f) =>
        Object.entries(f.redisCallsByCommand)
          .slice(0, 4)
          .map(([name, rate]) => `${name} ${rate}`)
          .join(", "),
    ],
    ["  baseline (agents alone) commands/s", (f) => `${fixed(f.baseline.redisOpsPerSecond)} (${fixed(f.baseline.heartbeatsPerSecond)} heartbeats/s)`],
    ["heartbeats/s (failed)", (f) => `${fixed(f.heartbeatsPerSecond)} (${f.heartbeatsFailed})`],
    ["load 1 min start / end", (f) => `${f.load.start.toFixed(1)} / ${f.load.end.toFixed(1)}`],
  ];
  const header = ["agents", ...results.map((f) => `${f.agents.toLocaleString("en-US")}${f.built ? " (built)" : ""}`)];
  const lines = [header, ...rows.map(([name, cell]) => [name, ...results.map(cell)])];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines.map((l) => l.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n");
}

async function main(args: Args): Promise<number> {
  if (!hasRedisServerBinary()) throw new NoRedisError(REDIS_SERVER_MISSING);
  const results: FleetFigures[] = [];
  for (const agents of args.agents) {
    results.push(
      await runFleet({
        agents,
        tasks: args.tasks,
        seconds: args.seconds,
        warmupSeconds: args["warmup-seconds"],
        catchUpSeconds: args["catch-up-seconds"],
        baselineSeconds: args["baseline-seconds"],
        heartbeatIntervalMs: 2000,
        env: { WORKSTEAL_STEAL_INTERVAL: String(args["steal-interval"]) },
        built: args.built,
        progress,
      }),
    );
  }
  const reactions: ReactionFigures[] = [];
  for (const interval of args["reaction-intervals"]) reactions.push(await measureReaction(interval, args.trials, progress));
  const machine = { machine: describeMachine(), date: new Date().toISOString(), load: loadavg().map((l) => Number(l.toFixed(2))) };
  if (args.json) printJson({ ...machine, stealIntervalMs: args["steal-interval"], results, reactions });
  else {
    if (results.length > 0) process.stdout.write(`${table(results)}\n`);
    for (const r of reactions) {
      process.stdout.write(
        `reaction at stealInterval ${r.stealIntervalMs} ms: p50 ${r.p50Ms ?? "-"} ms, p90 ${r.p90Ms ?? "-"} ms over ${r.trials} bursts (load ${r.load.toFixed(1)}); ` +
          `median ms from the submit: planned ${r.medianSteps.plannedMs ?? "-"}, picked up ${r.medianSteps.pickedUpMs ?? "-"}, moved ${r.medianSteps.movedMs ?? "-"}, started ${r.medianSteps.startedMs ?? "-"}\n`,
      );
    }
    process.stdout.write(`${machine.machine}, ${machine.date}\n`);
  }
  return 0;
}

await runScript(COMMAND, main);
