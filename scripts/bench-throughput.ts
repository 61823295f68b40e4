/**
 * Benchmark: what a no-op task costs on worksteal against plain BullMQ with the same queues,
 * workers (processes) and concurrency, on a private redis-server started here.
 *
 *   pnpm bench:throughput [--tasks 20000] [--agents 4] [--concurrency 50] [--in-flight 256] [--repeat 3] [--cpu-prof-dir DIR] [--json]
 *
 * Modes: worksteal single submits (placement), single submits naming the agent, bulk
 * (Client.submitMany); BullMQ `add` and `addBulk` over one queue per worker. Each run is a
 * fresh namespace with fresh processes; runs interleave modes, repeat after repeat, so that a
 * change in the machine's load falls on every mode alike. Per run: tasks/s from the first
 * submit to the last finish (Redis clock); per task, Redis commands (INFO commandstats, Lua
 * inner calls included), Redis CPU (INFO cpu) and the CPU of every Node process (this one, the
 * workers, the coordinators), from the first submit until every task is finished and, for
 * worksteal, every event folded. Medians over the repeats; ratios against BullMQ of the same
 * invocation. Then one staged run per mode splits the cost by lifecycle step (lib/throughput/run.ts),
 * and worksteal's own scripts are measured alone, step by step: submit, claim, finish, fold
 * (lib/throughput/script-steps.ts).
 */
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { z } from "zod";
import { hasRedisServerBinary, REDIS_SERVER_MISSING, startRedisServer } from "@worksteal/testkit";
import { Redis } from "ioredis";
import { type ArgsOf, flag, JSON_FLAG, option, runScript } from "./lib/args.js";
import { NoRedisError } from "./lib/fleet.js";
import { describeMachine, printJson, progress } from "./lib/report.js";
import { printTable, summarise } from "./lib/throughput/report.js";
import { measureRun, measureSteps, type Mode, MODES, type RunFigures, type RunSettings, type Step } from "./lib/throughput/run.js";
import { measureScriptSteps } from "./lib/throughput/script-steps.js";

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const COMMAND = {
  name: "bench:throughput",
  usage: "pnpm bench:throughput",
  summary:
    "No-op tasks/s and cost per task (Redis commands, Redis CPU, Node CPU) of worksteal against plain BullMQ with the same queues, workers and concurrency.",
  options: {
    tasks: option(count(100, 1_000_000), { default: "20000", valueName: "N", help: "tasks per run" }),
    agents: option(count(1, 64), { default: "4", valueName: "N", help: "worker processes (worksteal agents, or BullMQ workers with a queue each)" }),
    concurrency: option(count(1, 1000), { default: "50", valueName: "N", help: "slots per worker" }),
    coordinators: option(count(1, 8), { default: "1", valueName: "N", help: "worksteal coordinator replicas" }),
    "in-flight": option(count(1, 10_000), { default: "256", valueName: "N", help: "single submits (or adds) in flight" }),
    chunk: option(count(1, 10_000), { default: "500", valueName: "N", help: "tasks per submitMany chunk and per addBulk round" }),
    repeat: option(count(1, 20), { default: "3", valueName: "N", help: "runs of each mode; figures are medians" }),
    modes: option(
      z
        .string()
        .transform((s) => s.split(","))
        .pipe(z.array(z.enum(MODES)).min(1)),
      { default: MODES.join(","), valueName: "LIST", help: "which modes, comma-separated" },
    ),
    "skip-steps": flag("leave out the staged run per mode that splits the cost by lifecycle step"),
    "cpu-prof-dir": option(z.string().min(1).optional(), {
      valueName: "DIR",
      help: "every process of every run (the submitting one, workers, coordinators) writes a V8 CPU profile into DIR/<run's namespace>/",
    }),
    "timeout-s": option(count(10, 3600), { default: "300", valueName: "S", help: "a run not finished after this long fails the bench" }),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

async function main(args: Args): Promise<number> {
  if (!hasRedisServerBinary()) throw new NoRedisError(REDIS_SERVER_MISSING);
  const loadBefore = loadavg();
  // Always a private server: its INFO counts only this bench, and the bench may empty it between runs.
  const server = await startRedisServer();
  const redis = new Redis(server.url);
  // What the output states of the runs (with their repeat count); the runs take it with their connection.
  const setup = {
    tasks: args.tasks,
    agents: args.agents,
    concurrency: args.concurrency,
    coordinators: args.coordinators,
    inFlight: args["in-flight"],
    chunk: args.chunk,
    repeat: args.repeat,
  };
  const settings: RunSettings = {
    ...setup,
    redis,
    redisUrl: server.url,
    timeoutMs: args["timeout-s"] * 1000,
    cpuProfileDir: args["cpu-prof-dir"] === undefined ? undefined : resolve(args["cpu-prof-dir"]),
  };
  const runs: RunFigures[] = [];
  const steps: Array<{ mode: Mode; steps: Step[] }> = [];
  let scriptSteps: Step[] = [];
  let redisVersion = "";
  try {
    redisVersion = /redis_version:(\S+)/.exec((await redis.info("server")) ?? "")?.[1] ?? "";
    for (let repeat = 1; repeat <= args.repeat; repeat++) {
      for (const mode of args.modes) {
        const figures = await measureRun(settings, mode);
        if (figures.done !== args.tasks) throw new Error(`${mode}: ${args.tasks - figures.done} of ${args.tasks} tasks did not end done`);
        runs.push(figures);
        progress(
          `[${repeat}/${args.repeat}] ${mode}: ${figures.tasksPerSecond} tasks/s, ${figures.commandsPerTask} commands/task, redis ${figures.redisCpuUsPerTask} µs/task`,
        );
        await redis.flushall();
      }
    }
    if (!args["skip-steps"]) {
      for (const mode of args.modes) {
        steps.push({ mode, steps: await measureSteps(settings, mode) });
        progress(`[steps] ${mode} done`);
        await redis.flushall();
      }
      scriptSteps = await measureScriptSteps(redis, args.tasks, "tp-script-steps");
      progress("[steps] worksteal's scripts alone done");
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }
  const summaries = summarise(args.modes, runs);
  const machine = describeMachine();
  const load = { before: loadBefore.map((l) => Number(l.toFixed(2))), after: loadavg().map((l) => Number(l.toFixed(2))) };
  if (args.json) {
    printJson({ ...setup, machine, redisVersion, redisAof: true, loadavg: load, modes: summaries, steps, scriptSteps, runs });
    return 0;
  }
  printTable(
    [
      `${args.tasks} no-op tasks per run, ${args.agents} worker processes × concurrency ${args.concurrency}, ${args.coordinators} coordinator(s), ${args["in-flight"]} single submits in flight, chunks of ${args.chunk}; median of ${args.repeat}`,
      `${machine}; Redis ${redisVersion} (private, AOF everysec); load average (1, 5, 15 min) ${load.before.join(" ")} before, ${load.after.join(" ")} after`,
    ],
    summaries,
    steps,
    scriptSteps,
  );
  return 0;
}

await runScript(COMMAND, main);
