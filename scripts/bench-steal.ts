/**
 * Benchmark: the same skewed workload on real Redis with real agent processes, four ways:
 * no stealing, `classic`, `balanced`, and one shared BullMQ queue that all agents pull from.
 * Prints makespan (first submit to last finish) as a ratio to the lower bound
 * max(total work / speed-weighted slots, longest task) and to the shared queue.
 *
 *   pnpm bench:steal [--tasks 2000] [--mean-ms 40] [--seed 42] [--modes none,classic,balanced,shared] [--json]
 *
 * Every task costs worksteal a claim and a finish round trip that a plain queue does not make;
 * with short tasks (--mean-ms) that overhead is a larger share of the makespan.
 *
 * The shared-queue baseline ignores capabilities (a plain queue cannot honour them), which
 * makes it slightly optimistic. Tasks are sleeps, so the figures measure scheduling, not CPU.
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { z } from "zod";
import { Client } from "@worksteal/agent";
import { keysFor } from "@worksteal/protocol";
import { startRedisServer, type RedisServer } from "@worksteal/testkit";
import { startFleet } from "./lib/fleet.js";
import { waitForAll } from "./lib/progress.js";
import { DEMO_AGENTS, makespanLowerBound, SHARED_QUEUE, skewedWorkload } from "./lib/workload.js";

const MODES = ["none", "classic", "balanced", "shared"] as const;
type Mode = (typeof MODES)[number];

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "2000" },
    "mean-ms": { type: "string", default: "40" },
    seed: { type: "string", default: "42" },
    modes: { type: "string", default: MODES.join(",") },
    json: { type: "boolean", default: false },
  },
});
const parsed = z
  .object({
    tasks: z.coerce.number().int().min(10),
    "mean-ms": z.coerce.number().int().min(1).max(60_000),
    seed: z.coerce.number().int(),
    modes: z
      .string()
      .transform((s) => s.split(","))
      .pipe(z.array(z.enum(MODES)).min(1)),
    json: z.boolean(),
  })
  .safeParse(values);
if (!parsed.success) {
  console.error(`bench:steal: ${parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(2);
}
const args = parsed.data;
const progress = (line: string) => process.stderr.write(`${line}\n`);

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
}

const tasks = skewedWorkload({ tasks: args.tasks, seed: args.seed, meanMs: args["mean-ms"] });
const lowerBound = makespanLowerBound(tasks, DEMO_AGENTS);
let server: RedisServer | undefined;
const redisUrl = process.env.REDIS_URL ?? (server = await startRedisServer()).url;

const rows: Row[] = [];
try {
  for (const mode of args.modes) {
    progress(`[${mode}] starting fleet...`);
    rows.push(await runMode(mode));
    const row = rows[rows.length - 1]!;
    progress(`[${mode}] makespan ${(row.makespanMs / 1000).toFixed(2)} s (x${row.ratioToLowerBound} of the lower bound)`);
  }
} finally {
  await server?.stop();
}
const shared = rows.find((r) => r.mode === "shared");
for (const row of rows) row.ratioToShared = shared ? round(row.makespanMs / shared.makespanMs) : null;

const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? "unknown cpu"}, node ${process.version}`;
if (args.json) {
  process.stdout.write(
    `${JSON.stringify({ tasks: args.tasks, meanMs: args["mean-ms"], seed: args.seed, lowerBoundMs: Math.round(lowerBound), machine, settings: STEAL_ENV, rows })}\n`,
  );
} else {
  console.log(`${args.tasks} tasks of mean ${args["mean-ms"]} ms, seed ${args.seed}; lower bound ${(lowerBound / 1000).toFixed(2)} s; ${machine}`);
  console.log("mode       makespan s  vs bound  vs shared  moved  steals  lost  run twice");
  for (const r of rows) {
    console.log(
      `${r.mode.padEnd(10)} ${(r.makespanMs / 1000).toFixed(2).padStart(10)}  ${r.ratioToLowerBound.toFixed(3).padStart(8)}  ${(r.ratioToShared?.toFixed(3) ?? "-").padStart(9)}  ${String(r.moved).padStart(5)}  ${String(r.steals).padStart(6)}  ${String(r.lost).padStart(4)}  ${String(r.runTwice).padStart(9)}`,
    );
  }
}

async function runMode(mode: Mode): Promise<Row> {
  const namespace = `bench-${mode}-${process.pid}`;
  const env: Record<string, string> =
    mode === "none" ? { WORKSTEAL_ENABLED: "false" } : mode === "classic" ? { ...STEAL_ENV, WORKSTEAL_STRATEGY: "classic" } : STEAL_ENV;
  const fleet = await startFleet({
    namespace,
    redisUrl,
    agents: DEMO_AGENTS,
    coordinators: mode === "shared" ? 0 : 1,
    env,
    shared: mode === "shared",
  });
  try {
    const started = Date.now();
    if (mode === "shared") return await runShared(fleet.redis, namespace, started);
    const client = new Client({ config: { redisUrl, namespace, logLevel: "warn" }, redis: fleet.redis });
    for (let i = 0; i < tasks.length; i += 50) await Promise.all(tasks.slice(i, i + 50).map((t) => client.submit(t)));
    const outcome = await waitForAll(
      fleet.redis,
      namespace,
      tasks.map((t) => t.id),
      Math.max(180_000, lowerBound * 30),
      () => undefined,
    );
    const finish = outcome.lastFinishedAt;
    await client.close();
    return {
      mode,
      makespanMs: finish - started,
      ratioToLowerBound: round((finish - started) / lowerBound),
      ratioToShared: null,
      moved: outcome.moved,
      steals: await fleet.redis.zcard(keysFor(namespace).steals),
      lost: outcome.lost,
      runTwice: outcome.runTwice,
    };
  } finally {
    await fleet.stop();
  }
}

async function runShared(redis: import("ioredis").Redis, namespace: string, started: number): Promise<Row> {
  const queue = new Queue(SHARED_QUEUE, { connection: redis, prefix: keysFor(namespace).bullPrefix });
  for (let i = 0; i < tasks.length; i += 50) {
    await Promise.all(tasks.slice(i, i + 50).map((t) => queue.add("task", { payload: t.payload }, { jobId: t.id })));
  }
  const deadline = Date.now() + Math.max(180_000, lowerBound * 30);
  while ((await queue.getCompletedCount()) < tasks.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const completed = await queue.getJobs(["completed"], 0, -1);
  const finish = Math.max(...completed.map((j) => j?.finishedOn ?? 0));
  const runs = await redis.hvals(keysFor(namespace).runLog);
  await queue.close();
  return {
    mode: "shared",
    makespanMs: finish - started,
    ratioToLowerBound: round((finish - started) / lowerBound),
    ratioToShared: null,
    moved: 0,
    steals: 0,
    lost: tasks.length - completed.length,
    runTwice: runs.filter((r) => Number(r) > 1).length,
  };
}

function round(x: number): number {
  return Number(x.toFixed(3));
}
