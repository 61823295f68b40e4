/**
 * Benchmark: how fast coordinator replicas fold a backlog of events, against the rate at which
 * the same Redis appends entries to a stream.
 *
 *   pnpm bench:fold [--events 200000] [--replicas 1,3] [--repeat 1] [--json]
 *
 * On a private redis-server, for each replica count: start that many coordinator processes (as
 * production runs them: one holds the fold lease and folds, the others stand by), pause them
 * (SIGSTOP), fill the stream with events written by the task scripts themselves (lib/fold/fill.ts:
 * task:completed, a few task:assigned, heartbeats), then let them all go at once and
 * time, from the resume to the moment the fold cursor stands at the stream's last entry, how
 * many events per second they folded. Also per event: Redis CPU (INFO cpu) and the
 * replicas' CPU (/proc). The baseline, in the same invocation on the same Redis: XADD of a
 * task:completed-sized entry by `redis-benchmark -P 16` when it is on PATH, else pipelined from
 * Node in batches of 1,000.
 */
import { execFile } from "node:child_process";
import { loadavg } from "node:os";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { z } from "zod";
import { keysFor } from "@worksteal/protocol";
import { foldCaughtUp, readFoldProgress, Store } from "@worksteal/store";
import { hasRedisServerBinary, REDIS_SERVER_MISSING, sleep, spawnNode, startRedisServer, waitUntilReady, type NodeProcess } from "@worksteal/testkit";
import { type ArgsOf, JSON_FLAG, option, runScript } from "./lib/args.js";
import { NoRedisError } from "./lib/fleet.js";
import { fillEventStream } from "./lib/fold/fill.js";
import { redisClock, replicaBeating } from "./lib/readiness.js";
import { describeMachine, printJson, progress } from "./lib/report.js";
import { median, ratio } from "./lib/stats.js";
import { processCpuSeconds, redisCost, sampleRedis } from "./lib/throughput/cost.js";

const COMMAND = {
  name: "bench:fold",
  usage: "pnpm bench:fold",
  summary: "Events folded per second from a pre-filled stream by 1 and by 3 coordinator replicas together, against the XADD rate of the same Redis.",
  options: {
    events: option(z.coerce.number().int().min(1000).max(5_000_000), { default: "200000", valueName: "N", help: "events in the backlog" }),
    replicas: option(
      z
        .string()
        .transform((s) => s.split(",").map(Number))
        .pipe(z.array(z.number().int().min(1).max(8)).min(1)),
      { default: "1,3", valueName: "LIST", help: "replica counts to run, comma-separated" },
    ),
    repeat: option(z.coerce.number().int().min(1).max(10), {
      default: "1",
      valueName: "N",
      help: "runs of each replica count and of the baseline; figures are medians",
    }),
    "timeout-s": option(z.coerce.number().int().min(10).max(3600), { default: "600", valueName: "S", help: "a fold not done after this long fails the bench" }),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

const AGENTS = ["a1", "a2", "a3", "a4"];
/** The size of a task:completed event as the finish script writes it. */
const XADD_PAYLOAD = JSON.stringify({
  kind: "task:completed",
  taskId: "f123456",
  agentId: "a1",
  taskType: "render",
  epoch: 1,
  durationMs: 3,
  at: 1764316800000,
});

interface FoldRun {
  replicas: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  redisCpuUsPerEvent: number;
  replicaCpuUsPerEvent: number;
  commandsPerEvent: number;
  /** Per event, by command name, largest first (those under 0.01 per event left out). */
  commandsByName: Record<string, number>;
  deadLettered: number;
}

async function main(args: Args): Promise<number> {
  if (!hasRedisServerBinary()) throw new NoRedisError(REDIS_SERVER_MISSING);
  const loadBefore = loadavg();
  const server = await startRedisServer();
  const redis = new Redis(server.url);
  const runs: FoldRun[] = [];
  const xadd: number[] = [];
  let xaddMethod = "";
  let redisVersion = "";
  try {
    redisVersion = /redis_version:(\S+)/.exec(await redis.info("server"))?.[1] ?? "";
    for (let repeat = 1; repeat <= args.repeat; repeat++) {
      const baseline = await measureXadd(redis, server.port, args.events);
      xadd.push(baseline.perSecond);
      xaddMethod = baseline.method;
      progress(`[${repeat}/${args.repeat}] XADD: ${baseline.perSecond} entries/s (${baseline.method})`);
      for (const replicas of args.replicas) {
        const run = await measureFold(redis, server.url, replicas, args);
        runs.push(run);
        progress(`[${repeat}/${args.repeat}] ${replicas} replica(s): ${run.eventsPerSecond} events/s`);
        await redis.flushall();
      }
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }
  const xaddPerSecond = median(xadd)!;
  const rows = args.replicas.map((replicas) => {
    const mine = runs.filter((r) => r.replicas === replicas);
    const eventsPerSecond = median(mine.map((r) => r.eventsPerSecond))!;
    return {
      replicas,
      eventsPerSecond,
      vsXadd: ratio(eventsPerSecond, xaddPerSecond),
      redisCpuUsPerEvent: median(mine.map((r) => r.redisCpuUsPerEvent))!,
      replicaCpuUsPerEvent: median(mine.map((r) => r.replicaCpuUsPerEvent))!,
      commandsPerEvent: median(mine.map((r) => r.commandsPerEvent))!,
      /** From the first run. */
      commandsByName: mine[0]!.commandsByName,
      deadLettered: Math.max(...mine.map((r) => r.deadLettered)),
      runs: mine.map((r) => r.eventsPerSecond),
    };
  });
  const machine = describeMachine();
  const load = { before: loadBefore.map((l) => Number(l.toFixed(2))), after: loadavg().map((l) => Number(l.toFixed(2))) };
  if (args.json) {
    printJson({
      events: args.events,
      repeat: args.repeat,
      machine,
      redisVersion,
      loadavg: load,
      xadd: { perSecond: xaddPerSecond, method: xaddMethod, runs: xadd },
      rows,
      runs,
    });
    return 0;
  }
  console.log(`backlog of ${args.events} events (task:completed, a few task:assigned, heartbeats) folded by coordinator processes; median of ${args.repeat}`);
  console.log(`${machine}; Redis ${redisVersion} (private, AOF everysec); load average ${load.before.join(" ")} before, ${load.after.join(" ")} after`);
  console.log(`baseline XADD: ${xaddPerSecond} entries/s (${xaddMethod}; runs ${xadd.join(", ")})`);
  console.log("");
  console.log("replicas   events/s  vs XADD  redis µs/event  replicas' node µs/event  cmds/event  dead-lettered  runs (events/s)");
  for (const r of rows) {
    console.log(
      `${String(r.replicas).padStart(8)}  ${String(r.eventsPerSecond).padStart(9)}  ${r.vsXadd.toFixed(3).padStart(7)}  ${r.redisCpuUsPerEvent.toFixed(2).padStart(14)}  ${r.replicaCpuUsPerEvent.toFixed(2).padStart(23)}  ${r.commandsPerEvent.toFixed(2).padStart(10)}  ${String(r.deadLettered).padStart(13)}  ${r.runs.join(", ")}`,
    );
  }
  console.log("");
  console.log("commands per event (first run):");
  for (const r of rows) {
    const top = Object.entries(r.commandsByName)
      .map(([name, calls]) => `${name} ${calls}`)
      .join(", ");
    console.log(`  ${r.replicas} replica(s): ${top}`);
  }
  return 0;
}

async function measureFold(redis: Redis, redisUrl: string, replicas: number, args: Args): Promise<FoldRun> {
  const namespace = `fold-${replicas}-${Date.now()}`;
  const store = new Store(redis, namespace);
  // Agents stay alive through the whole backlog without heartbeats: the reaper must not act meanwhile.
  const env = { REDIS_URL: redisUrl, WORKSTEAL_NAMESPACE: namespace, WORKSTEAL_LOG_LEVEL: "warn", WORKSTEAL_AGENT_TTL_MS: "3600000" };
  const since = await redisClock(redis);
  const coordinators: NodeProcess[] = [];
  try {
    await Promise.all(
      Array.from({ length: replicas }, async (_, i) => {
        const id = `c${i + 1}`;
        const proc = spawnNode("packages/coordinator/src/main.ts", [], { env: { ...env, WORKSTEAL_REPLICA_ID: id } });
        coordinators.push(proc);
        await waitUntilReady(proc, replicaBeating(redis, namespace, id, since), { what: `coordinator ${id}` });
      }),
    );
    for (const proc of coordinators) proc.pause();
    let shown = 0;
    const events = await fillEventStream(store, args.events, AGENTS, (written) => {
      if (written - shown < 50_000) return;
      shown = written;
      progress(`  filled ${written} events`);
    });
    const cpuBefore = coordinators.reduce((sum, p) => sum + processCpuSeconds(p.pid), 0);
    const redisBefore = await sampleRedis(redis);
    const started = performance.now();
    for (const proc of coordinators) proc.resume();
    const deadline = Date.now() + args["timeout-s"] * 1000;
    while (!foldCaughtUp(await readFoldProgress(store))) {
      if (Date.now() > deadline) throw new Error(`${replicas} replica(s): the backlog not folded after ${args["timeout-s"]} s`);
      await sleep(10);
    }
    const seconds = (performance.now() - started) / 1000;
    const redisAfter = await sampleRedis(redis);
    const cpuAfter = coordinators.reduce((sum, p) => sum + processCpuSeconds(p.pid), 0);
    const perEvent = (cpuSeconds: number) => Number(((cpuSeconds * 1e6) / events).toFixed(2));
    const commands = redisCost(redisBefore, redisAfter);
    const perEventCount = (calls: number) => Number((calls / events).toFixed(2));
    return {
      replicas,
      events,
      seconds: Number(seconds.toFixed(2)),
      eventsPerSecond: Math.round(events / seconds),
      redisCpuUsPerEvent: perEvent(redisAfter.cpuSeconds - redisBefore.cpuSeconds),
      replicaCpuUsPerEvent: perEvent(cpuAfter - cpuBefore),
      commandsPerEvent: perEventCount(commands.totalCalls),
      commandsByName: Object.fromEntries(
        [...commands.calls]
          .sort((a, b) => b[1] - a[1])
          .map(([name, calls]) => [name, perEventCount(calls)] as const)
          .filter(([, calls]) => calls >= 0.01),
      ),
      deadLettered: await redis.xlen(keysFor(namespace).deadLetter),
    };
  } finally {
    for (const proc of coordinators) proc.kill("SIGTERM");
    await Promise.all(coordinators.map((p) => p.exited));
  }
}

const run = promisify(execFile);

/** Entries per second XADDed to a stream of its own on the same Redis, which is deleted after. */
async function measureXadd(redis: Redis, port: number, entries: number): Promise<{ perSecond: number; method: string }> {
  const key = "bench:xadd";
  try {
    const { stdout } = await run("redis-benchmark", ["-p", String(port), "-P", "16", "-n", String(entries), "-q", "XADD", key, "*", "event", XADD_PAYLOAD]);
    const perSecond = /([\d.]+) requests per second/.exec(stdout)?.[1];
    if (perSecond) return { perSecond: Math.round(Number(perSecond)), method: `redis-benchmark -P 16 -n ${entries}` };
  } catch {
    // No redis-benchmark on PATH: pipelined from Node instead.
  } finally {
    await redis.del(key);
  }
  const started = performance.now();
  for (let start = 0; start < entries; start += 1000) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(entries, start + 1000); i++) pipeline.xadd(key, "*", "event", XADD_PAYLOAD);
    await pipeline.exec();
  }
  const perSecond = Math.round(entries / ((performance.now() - started) / 1000));
  await redis.del(key);
  return { perSecond, method: `Node, pipelines of 1000, ${entries} entries` };
}

await runScript(COMMAND, main);
