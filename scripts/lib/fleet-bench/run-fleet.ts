/**
 * One measurement of the fleet bench: a private redis-server, `agents` virtual agents holding
 * `tasks` queued tasks between them and heartbeating every 2 s, then one coordinator process.
 * The Redis commands the agents cost alone are measured first (the baseline), so that what the
 * coordinator adds is the difference; then the coordinator runs a warm-up and a measured window.
 */
import { loadavg } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import { keysFor } from "@worksteal/protocol";
import { Store } from "@worksteal/store";
import { freePort, sleep, spawnNode, startRedisServer, waitUntilReady, type NodeProcess } from "@worksteal/testkit";
import { median, quantile } from "../stats.js";
import { processCpuSeconds, redisCost, sampleRedis } from "../throughput/cost.js";
import {
  histogramDelta,
  histogramQuantile,
  type HistogramSample,
  latestMemory,
  MEMORY_PARTS,
  type MemoryPart,
  parseHistograms,
  readFoldLag,
  residentMb,
} from "./observe.js";
import { queueTasks, registerVirtualAgents, startHeartbeats } from "./virtual-agents.js";

export interface FleetRunOptions {
  agents: number;
  tasks: number;
  /** Seconds measured, after the warm-up. */
  seconds: number;
  warmupSeconds: number;
  /** After the warm-up, at most this long for the coordinator to fold the backlog the setup appended. */
  catchUpSeconds: number;
  baselineSeconds: number;
  heartbeatIntervalMs: number;
  /** Coordinator settings (WORKSTEAL_* variables) over the defaults. */
  env: Record<string, string>;
  /** Run the built coordinator (packages/coordinator/dist, after `pnpm build`) rather than its source through tsx. */
  built: boolean;
  progress: (line: string) => void;
}

export interface Quantiles {
  p50: number | undefined;
  p99: number | undefined;
  /** Observations in the window. */
  count: number;
  mean: number | undefined;
}

export interface FleetFigures {
  agents: number;
  /** Whether the built coordinator ran (else its source through tsx). */
  built: boolean;
  tasks: number;
  seconds: number;
  /** Coordinator resident memory over the window, MB. */
  rssMb: { median: number | undefined; peak: number | undefined };
  /** What that memory holds, by part of process.memoryUsage() (the coordinator's own report each second), MB over the window. */
  memoryMb: Record<MemoryPart, { median: number | undefined; peak: number | undefined }>;
  /** Coordinator CPU over the window, percent of one core. */
  cpuPercent: number;
  /** Seconds. */
  leaderRound: Quantiles;
  planPhases: Record<"fleet" | "snapshot" | "plan" | "write", Quantiles>;
  maintenancePass: Quantiles & { max: number | undefined };
  foldLag: { endEvents: number; maxEvents: number; endSeconds: number; maxSeconds: number };
  /** Seconds from the coordinator's start until it had folded the setup's events (undefined: not within the limit). */
  catchUpSeconds: number | undefined;
  /** Events appended to the stream per second during the window. */
  eventsPerSecond: number;
  /**
   * Redis commands per second the coordinator caused: the window's rate less what the agents'
   * heartbeats cost, per heartbeat as measured in the agents-only baseline.
   */
  redisOpsPerSecond: number;
  /** Same, counting the calls scripts make inside Redis too (INFO commandstats). */
  redisCallsPerSecond: number;
  /** The same calls per second by command name (lower case), the ten most frequent, most first: where they go. */
  redisCallsByCommand: Record<string, number>;
  baseline: { redisOpsPerSecond: number; redisCallsPerSecond: number; heartbeatsPerSecond: number };
  heartbeatsPerSecond: number;
  heartbeatsFailed: number;
  /** 1-minute load average at the start and the end of the window. */
  load: { start: number; end: number };
}

interface RedisCounters {
  commands: number;
  calls: number;
  byCommand: Map<string, number>;
  at: number;
}

async function redisCounters(redis: Redis): Promise<RedisCounters> {
  const stats = (await redis.call("INFO", "stats")) as string;
  const sample = await sampleRedis(redis);
  const cost = redisCost({ calls: new Map(), cpuSeconds: 0, reads: 0 }, sample);
  return {
    commands: Number(/total_commands_processed:(\d+)/.exec(stats)?.[1] ?? 0),
    calls: cost.totalCalls,
    byCommand: cost.calls,
    at: Date.now(),
  };
}

/** Per second, by command: the window's calls less what the baseline's heartbeats cost per heartbeat; the ten most frequent. */
function callsByCommand(
  baseline: { start: RedisCounters; end: RedisCounters; beats: number },
  window: { start: RedisCounters; end: RedisCounters; beatsPerSecond: number },
): Record<string, number> {
  const perSecond = (a: RedisCounters, b: RedisCounters, name: string) =>
    ((b.byCommand.get(name) ?? 0) - (a.byCommand.get(name) ?? 0)) / ((b.at - a.at) / 1000);
  const rows = [...window.end.byCommand.keys()].map((name): [string, number] => {
    const perBeat = perSecond(baseline.start, baseline.end, name) / baseline.beats;
    return [name, perSecond(window.start, window.end, name) - perBeat * window.beatsPerSecond];
  });
  return Object.fromEntries(
    rows
      .filter(([, rate]) => rate >= 1)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([name, rate]) => [name, Math.round(rate)]),
  );
}

/** Per second between two counters; the INFO calls of the sampling itself are left out of `commands`. */
function rates(a: RedisCounters, b: RedisCounters): { ops: number; calls: number } {
  const seconds = (b.at - a.at) / 1000;
  return { ops: (b.commands - a.commands - 2) / seconds, calls: (b.calls - a.calls) / seconds };
}

function quantiles(h: HistogramSample): Quantiles {
  return { p50: histogramQuantile(h, 0.5), p99: histogramQuantile(h, 0.99), count: h.count, mean: h.count > 0 ? h.sum / h.count : undefined };
}

/** The upper bound of the highest bucket anything fell in: the longest observation, to bucket precision. */
function bucketMax(h: HistogramSample): number | undefined {
  let below = 0;
  let max: number | undefined;
  for (const le of [...h.buckets.keys()].sort((a, b) => a - b)) {
    const cumulative = h.buckets.get(le)!;
    if (cumulative > below) max = le;
    below = cumulative;
  }
  return max;
}

/** Loaded into the coordinator: its memory by part, on stdout each second (memory-probe.mjs). */
const MEMORY_PROBE = pathToFileURL(fileURLToPath(new URL("./memory-probe.mjs", import.meta.url))).href;

export async function runFleet(options: FleetRunOptions): Promise<FleetFigures> {
  const { progress } = options;
  const namespace = "fleet";
  const keys = keysFor(namespace);
  const server = await startRedisServer({ appendOnly: false });
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const agentRedis = new Redis(server.url, { maxRetriesPerRequest: null });
  let coordinator: NodeProcess | undefined;
  const store = new Store(agentRedis, namespace);
  let heartbeats: ReturnType<typeof startHeartbeats> | undefined;
  try {
    progress(`${options.agents} agents: registering...`);
    const ids = await registerVirtualAgents(store, options.agents);
    heartbeats = startHeartbeats(store, ids, options.heartbeatIntervalMs);
    progress(`${options.agents} agents: submitting ${options.tasks} tasks...`);
    await queueTasks(agentRedis, namespace, ids, options.tasks);

    progress(`${options.agents} agents: baseline, agents alone, ${options.baselineSeconds} s...`);
    const baseStart = await redisCounters(redis);
    const baseBeats = heartbeats.sent();
    await sleep(options.baselineSeconds * 1000);
    const baseEnd = await redisCounters(redis);
    const baseline = { ...rates(baseStart, baseEnd), beats: (heartbeats.sent() - baseBeats) / ((baseEnd.at - baseStart.at) / 1000) };

    const port = await freePort();
    coordinator = spawnNode(options.built ? "packages/coordinator/dist/main.js" : "packages/coordinator/src/main.ts", [], {
      built: options.built,
      env: {
        REDIS_URL: server.url,
        WORKSTEAL_NAMESPACE: namespace,
        WORKSTEAL_HTTP_PORT: String(port),
        WORKSTEAL_LOG_LEVEL: "warn",
        WORKSTEAL_REPLICA_ID: "bench-coordinator",
        WORKSTEAL_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs),
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${MEMORY_PROBE}`.trim(),
        ...options.env,
      },
    });
    const proc = coordinator;
    await waitUntilReady(proc, async () => (await redis.hget(keys.leader, "holder")) === "bench-coordinator", { what: "the coordinator" });
    const metricsUrl = `http://127.0.0.1:${port}/metrics`;
    const coordinatorStart = Date.now();
    progress(`${options.agents} agents: coordinator leads; warm-up ${options.warmupSeconds} s, then until the setup's events are folded...`);
    await sleep(options.warmupSeconds * 1000);
    let catchUpSeconds: number | undefined;
    while (Date.now() - coordinatorStart < (options.warmupSeconds + options.catchUpSeconds) * 1000) {
      if ((await readFoldLag(redis, keys)).events === 0) {
        catchUpSeconds = (Date.now() - coordinatorStart) / 1000;
        break;
      }
      await sleep(500);
    }

    progress(`${options.agents} agents: measuring ${options.seconds} s...`);
    const histogramsBefore = parseHistograms(await (await fetch(metricsUrl)).text());
    const loadStart = loadavg()[0]!;
    const counters = await redisCounters(redis);
    const cpuStart = processCpuSeconds(proc.pid);
    const wallStart = Date.now();
    const beatsStart = heartbeats.sent();
    const lagStart = await readFoldLag(redis, keys);
    const rss: number[] = [];
    const memory = Object.fromEntries(MEMORY_PARTS.map((part) => [part, [] as number[]])) as Record<MemoryPart, number[]>;
    const lagEvents: number[] = [];
    const lagSeconds: number[] = [];
    let lag = lagStart;
    while (Date.now() - wallStart < options.seconds * 1000) {
      await sleep(1000);
      rss.push(residentMb(proc.pid));
      const parts = latestMemory(proc.lines);
      if (parts) for (const part of MEMORY_PARTS) memory[part].push(parts[part]);
      lag = await readFoldLag(redis, keys);
      lagEvents.push(lag.events);
      lagSeconds.push(lag.seconds);
    }
    const wallSeconds = (Date.now() - wallStart) / 1000;
    const cpuPercent = ((processCpuSeconds(proc.pid) - cpuStart) / wallSeconds) * 100;
    const countersEnd = await redisCounters(redis);
    const window = rates(counters, countersEnd);
    const beats = heartbeats.sent() - beatsStart;
    const loadEnd = loadavg()[0]!;
    const histogramsAfter = parseHistograms(await (await fetch(metricsUrl)).text());
    const delta = (key: string) => histogramDelta(histogramsBefore.get(key), histogramsAfter.get(key));
    const maintenance = delta("worksteal_maintenance_seconds");
    const phase = (name: string) => quantiles(delta(`worksteal_plan_phase_seconds{phase="${name}"}`));
    return {
      agents: options.agents,
      built: options.built,
      tasks: options.tasks,
      seconds: Number(wallSeconds.toFixed(1)),
      rssMb: { median: median(rss), peak: quantile(rss, 1) },
      memoryMb: Object.fromEntries(
        MEMORY_PARTS.map((part) => [part, { median: median(memory[part]), peak: quantile(memory[part], 1) }]),
      ) as FleetFigures["memoryMb"],
      cpuPercent,
      leaderRound: quantiles(delta("worksteal_leader_round_seconds")),
      planPhases: { fleet: phase("fleet"), snapshot: phase("snapshot"), plan: phase("plan"), write: phase("write") },
      maintenancePass: { ...quantiles(maintenance), max: bucketMax(maintenance) },
      foldLag: { endEvents: lag.events, maxEvents: quantile(lagEvents, 1) ?? 0, endSeconds: lag.seconds, maxSeconds: quantile(lagSeconds, 1) ?? 0 },
      catchUpSeconds,
      eventsPerSecond: (lag.appended - lagStart.appended) / wallSeconds,
      redisOpsPerSecond: window.ops - (baseline.ops / baseline.beats) * (beats / wallSeconds),
      redisCallsPerSecond: window.calls - (baseline.calls / baseline.beats) * (beats / wallSeconds),
      redisCallsByCommand: callsByCommand(
        { start: baseStart, end: baseEnd, beats: baseline.beats },
        { start: counters, end: countersEnd, beatsPerSecond: beats / wallSeconds },
      ),
      baseline: { redisOpsPerSecond: baseline.ops, redisCallsPerSecond: baseline.calls, heartbeatsPerSecond: baseline.beats },
      heartbeatsPerSecond: beats / wallSeconds,
      heartbeatsFailed: heartbeats.failed(),
      load: { start: loadStart, end: loadEnd },
    };
  } finally {
    await heartbeats?.stop();
    if (coordinator) {
      coordinator.kill("SIGTERM");
      await Promise.race([coordinator.exited, sleep(10_000)]);
      coordinator.kill("SIGKILL");
    }
    redis.disconnect();
    agentRedis.disconnect();
    await server.stop();
  }
}
