/**
 * Benchmark: the same skewed workload on real Redis with real agent processes, four ways:
 * no stealing, `classic`, `balanced`, and one shared BullMQ queue that all agents pull from.
 * Prints makespan (first submit to last finish) as a ratio to the lower bound
 * max(total work / speed-weighted slots, longest task) and to the shared queue.
 *
 *   pnpm bench:steal [--tasks 2000] [--mean-ms 40] [--seed 42] [--modes none,classic,balanced,shared] [--submit single|bulk] [--breakdown] [--json]
 *
 * --breakdown: where each run's makespan went beyond the work (lib/slot-breakdown.ts), from the
 * task records (worksteal) or the jobs (shared): the start, claims, slots starved of work, the
 * runs' overruns, and the end (slots done before the last).
 *
 * Every task costs worksteal a claim and a finish round trip that a plain queue does not make;
 * with short tasks (--mean-ms) that overhead is a larger share of the makespan.
 *
 * The shared-queue baseline ignores capabilities (a plain queue cannot honour them), which
 * makes it slightly optimistic. Tasks are sleeps, so the figures measure scheduling, not CPU.
 */
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { z } from "zod";
import { Client, type SubmitInput } from "@worksteal/client";
import { keysFor } from "@worksteal/protocol";
import { hasRedisServerBinary, REDIS_SERVER_MISSING, sleep, startRedisServer } from "@worksteal/testkit";
import { type ArgsOf, flag, JSON_FLAG, option, runScript } from "./lib/args.js";
import { NoRedisError, startFleet } from "./lib/fleet.js";
import { readRecordedRun } from "./lib/recorded-run.js";
import { describeMachine, printJson, progress } from "./lib/report.js";
import { type Breakdown, breakDown, type RecordedRun } from "./lib/slot-breakdown.js";
import { maximum, ratio } from "./lib/stats.js";
import { tasksRunTwice, waitForAll } from "./lib/wait-for-all.js";
import { DEMO_AGENTS, makespanLowerBound, SHARED_QUEUE, skewedWorkload } from "./lib/workload.js";

const MODES = ["none", "classic", "balanced", "shared"] as const;
type Mode = (typeof MODES)[number];

const COMMAND = {
  name: "bench:steal",
  usage: "pnpm bench:steal",
  summary: "The demo's skewed workload four ways (no stealing, classic, balanced, one shared BullMQ queue); makespans against the lower bound.",
  options: {
    tasks: option(z.coerce.number().int().min(10), { default: "2000", valueName: "N", help: "tasks in the workload" }),
    "mean-ms": option(z.coerce.number().int().min(1).max(60_000), { default: "40", valueName: "MS", help: "mean task duration at speed 1" }),
    seed: option(z.coerce.number().int(), { default: "42", valueName: "N", help: "seed of the workload" }),
    modes: option(
      z
        .string()
        .transform((s) => s.split(","))
        .pipe(z.array(z.enum(MODES)).min(1)),
      { default: MODES.join(","), valueName: "LIST", help: "which runs, comma-separated" },
    ),
    submit: option(z.enum(["single", "bulk"]), {
      default: "single",
      valueName: "HOW",
      help: "how the burst is submitted: single (50 submits, or adds, in flight) or bulk (Client.submitMany; the shared queue's addBulk)",
    }),
    breakdown: flag("also say where each run's makespan went: start, claims, starved slots, overruns, end"),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

/** Settings of the worksteal modes, the same for classic and balanced. */
const STEAL_ENV = { WORKSTEAL_STEAL_INTERVAL: "250", WORKSTEAL_MAX_STEAL_BATCH: "50" };

interface Row {
  mode: Mode;
  makespanMs: number;
  ratioToLowerBound: number;
  ratioToShared: number | null;
  moved: number;
  steals: number;
  lost: number;
  runTwice: number;
  breakdown?: Breakdown;
}

/** What every run of one invocation shares. */
interface Bench {
  redisUrl: string;
  tasks: SubmitInput[];
  lowerBound: number;
  submit: "bulk" | "single";
  breakdown: boolean;
}

/** Tasks per submitMany chunk and per addBulk call. */
const BULK_CHUNK = 500;
/** Single submits (or adds) in flight. */
const SINGLE_IN_FLIGHT = 50;

async function main(args: Args): Promise<number> {
  const tasks = skewedWorkload({ tasks: args.tasks, seed: args.seed, meanMs: args["mean-ms"] });
  // One Redis for every run (each in a namespace of its own), so that runs differ only by mode.
  if (!process.env.REDIS_URL && !hasRedisServerBinary()) throw new NoRedisError(REDIS_SERVER_MISSING);
  const server = process.env.REDIS_URL ? undefined : await startRedisServer();
  const bench: Bench = {
    redisUrl: process.env.REDIS_URL ?? server!.url,
    tasks,
    lowerBound: makespanLowerBound(tasks, DEMO_AGENTS),
    submit: args.submit,
    breakdown: args.breakdown,
  };
  const rows: Row[] = [];
  try {
    for (const mode of args.modes) {
      progress(`[${mode}] starting fleet...`);
      const row = await runMode(bench, mode);
      rows.push(row);
      progress(`[${mode}] makespan ${(row.makespanMs / 1000).toFixed(2)} s (x${row.ratioToLowerBound} of the lower bound)`);
    }
  } finally {
    await server?.stop();
  }
  const shared = rows.find((r) => r.mode === "shared");
  for (const row of rows) row.ratioToShared = shared ? ratio(row.makespanMs, shared.makespanMs) : null;
  report(args, bench.lowerBound, rows);
  return 0;
}

async function runMode(bench: Bench, mode: Mode): Promise<Row> {
  const namespace = `bench-${mode}-${process.pid}`;
  const env: Record<string, string> =
    mode === "none" ? { WORKSTEAL_ENABLED: "false" } : mode === "classic" ? { ...STEAL_ENV, WORKSTEAL_STRATEGY: "classic" } : STEAL_ENV;
  const fleet = await startFleet({
    namespace,
    redisUrl: bench.redisUrl,
    agents: DEMO_AGENTS,
    coordinators: mode === "shared" ? 0 : 1,
    env,
    shared: mode === "shared",
  });
  try {
    const started = Date.now();
    if (mode === "shared") return await runShared(bench, fleet.redis, namespace, started);
    const client = new Client({ config: { redisUrl: bench.redisUrl, namespace, logLevel: "warn" }, redis: fleet.redis });
    if (bench.submit === "bulk") {
      const refused = (await client.submitMany(bench.tasks, { chunkSize: BULK_CHUNK })).filter((r) => "refused" in r);
      if (refused.length > 0) throw new Error(`${refused.length} tasks refused, the first: ${refused[0]!.refused.message}`);
    } else {
      for (let i = 0; i < bench.tasks.length; i += SINGLE_IN_FLIGHT) await Promise.all(bench.tasks.slice(i, i + SINGLE_IN_FLIGHT).map((t) => client.submit(t)));
    }
    const outcome = await waitForAll(
      fleet.redis,
      namespace,
      bench.tasks.map((t) => t.id),
      Math.max(180_000, bench.lowerBound * 30),
      () => undefined,
    );
    const finish = outcome.lastFinishedAt;
    await client.close();
    const breakdown = bench.breakdown ? breakDown(BREAKDOWN_AGENTS, await recordedRuns(bench, fleet.redis, namespace), started) : undefined;
    return {
      mode,
      makespanMs: finish - started,
      ratioToLowerBound: ratio(finish - started, bench.lowerBound),
      ratioToShared: null,
      moved: outcome.moved,
      steals: await fleet.redis.zcard(keysFor(namespace).steals),
      lost: outcome.lost,
      runTwice: outcome.runTwice,
      ...(breakdown ? { breakdown } : {}),
    };
  } finally {
    await fleet.stop();
  }
}

async function runShared(bench: Bench, redis: Redis, namespace: string, started: number): Promise<Row> {
  const { tasks, lowerBound } = bench;
  const queue = new Queue(SHARED_QUEUE, { connection: redis, prefix: keysFor(namespace).bullPrefix });
  const job = (t: SubmitInput) => ({ name: "task", data: { payload: t.payload }, opts: { jobId: t.id } });
  if (bench.submit === "bulk") {
    for (let i = 0; i < tasks.length; i += BULK_CHUNK) await queue.addBulk(tasks.slice(i, i + BULK_CHUNK).map(job));
  } else {
    for (let i = 0; i < tasks.length; i += SINGLE_IN_FLIGHT) {
      await Promise.all(
        tasks.slice(i, i + SINGLE_IN_FLIGHT).map((t) => {
          const { name, data, opts } = job(t);
          return queue.add(name, data, opts);
        }),
      );
    }
  }
  const deadline = Date.now() + Math.max(180_000, lowerBound * 30);
  while ((await queue.getCompletedCount()) < tasks.length && Date.now() < deadline) await sleep(250);
  // A job removed while the list was read comes back undefined.
  const completed = (await queue.getJobs(["completed"], 0, -1)).filter((j) => j !== undefined);
  const finish = maximum(completed.map((j) => j.finishedOn ?? 0)) ?? 0;
  await queue.close();
  const sleepOf = sleepsOf(tasks);
  const breakdown = bench.breakdown
    ? breakDown(
        BREAKDOWN_AGENTS,
        completed.map((j) => ({
          agent: j.processedBy ?? "",
          readyAt: j.timestamp,
          startedAt: j.processedOn ?? 0,
          finishedAt: j.finishedOn ?? 0,
          sleepMs: sleepOf(j.id!, j.processedBy ?? ""),
        })),
        started,
      )
    : undefined;
  return {
    mode: "shared",
    makespanMs: finish - started,
    ratioToLowerBound: ratio(finish - started, lowerBound),
    ratioToShared: null,
    moved: 0,
    steals: 0,
    lost: tasks.length - completed.length,
    runTwice: await tasksRunTwice(redis, namespace),
    ...(breakdown ? { breakdown } : {}),
  };
}

const BREAKDOWN_AGENTS = DEMO_AGENTS.map((a) => ({ id: a.id, slots: a.concurrency, speed: a.speed }));

/** How long a task slept on an agent: its payload's ms times the agent's speed. */
function sleepsOf(tasks: readonly SubmitInput[]): (taskId: string, agentId: string) => number {
  const ms = new Map(tasks.map((t) => [t.id, (t.payload as { ms: number }).ms]));
  const speed = new Map(DEMO_AGENTS.map((a) => [a.id, a.speed]));
  return (taskId, agentId) => (ms.get(taskId) ?? 0) * (speed.get(agentId) ?? 1);
}

/** The worksteal run's tasks as they ran, each ready on its agent when created there or moved there. */
async function recordedRuns(bench: Bench, redis: Redis, namespace: string): Promise<RecordedRun[]> {
  const sleepOf = sleepsOf(bench.tasks);
  const recorded = await readRecordedRun(
    redis,
    namespace,
    bench.tasks.map((t) => t.id),
  );
  return recorded.tasks.map((t) => ({ agent: t.agent, readyAt: t.readyAt, startedAt: t.startedAt, finishedAt: t.finishedAt, sleepMs: sleepOf(t.id, t.agent) }));
}

function report(args: Args, lowerBound: number, rows: Row[]): void {
  const machine = describeMachine();
  if (args.json) {
    printJson({
      tasks: args.tasks,
      meanMs: args["mean-ms"],
      seed: args.seed,
      submit: args.submit,
      lowerBoundMs: Math.round(lowerBound),
      machine,
      settings: STEAL_ENV,
      rows,
    });
    return;
  }
  console.log(
    `${args.tasks} tasks of mean ${args["mean-ms"]} ms, seed ${args.seed}, submitted ${args.submit === "bulk" ? "in bulk" : "one by one"}; lower bound ${(lowerBound / 1000).toFixed(2)} s; ${machine}`,
  );
  console.log("mode       makespan s  vs bound  vs shared  moved  steals  lost  run twice");
  for (const r of rows) {
    console.log(
      `${r.mode.padEnd(10)} ${(r.makespanMs / 1000).toFixed(2).padStart(10)}  ${r.ratioToLowerBound.toFixed(3).padStart(8)}  ${(r.ratioToShared?.toFixed(3) ?? "-").padStart(9)}  ${String(r.moved).padStart(5)}  ${String(r.steals).padStart(6)}  ${String(r.lost).padStart(4)}  ${String(r.runTwice).padStart(9)}`,
    );
  }
  const broken = rows.filter((r) => r.breakdown);
  if (broken.length === 0) return;
  console.log("\nwhere the makespan went, ms (parts add up to it): work, start, claims, starved, overruns, end; per run: median claim gap, overrun");
  console.log("mode       makespan   work  start  claim  starved  overrun    end  claim gap  overrun  last finishes (agent at s)");
  const ms = (v: number, width: number) => Math.round(v).toString().padStart(width);
  for (const { mode, breakdown: b } of broken) {
    const last = b!.lastFinishes.map((f) => `${f.agent} ${(f.atMs / 1000).toFixed(2)}`).join(", ");
    console.log(
      `${mode.padEnd(10)} ${ms(b!.makespanMs, 8)} ${ms(b!.workMs, 6)} ${ms(b!.startMs, 6)} ${ms(b!.claimMs, 6)} ${ms(b!.starvedMs, 8)} ${ms(b!.overrunMs, 8)} ${ms(b!.endMs, 6)} ${b!.medianClaimGapMs.toFixed(1).padStart(10)} ${b!.medianOverrunMs.toFixed(1).padStart(8)}  ${last}`,
    );
  }
}

await runScript(COMMAND, main);
