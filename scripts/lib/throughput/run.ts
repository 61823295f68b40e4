/**
 * One bench:throughput run: a fresh namespace, its worker processes, N no-op tasks submitted one
 * way, and what they cost from the first submit until every task is finished (and, for
 * worksteal, every event folded). Measured on stdout reports and a few LLEN / XINFO polls, so
 * that watching adds next to nothing to the counts.
 */
import { join } from "node:path";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { Client, type SubmitInput } from "@worksteal/client";
import { bullPriorityOf, jobIdFor, keysFor } from "@worksteal/protocol";
import { foldCaughtUp, QUEUE_EVENTS_MAX_LEN, readFoldProgress } from "@worksteal/store";
import { sleep } from "@worksteal/testkit";
import { redisClock } from "../readiness.js";
import { startCpuProfile } from "./cpu-profile.js";
import { processCost, redisCost, type RedisCost, sampleProcesses, sampleRedis } from "./cost.js";
import { startWorkers, type Workers } from "./workers.js";

export const MODES = ["ws-single", "ws-named", "ws-bulk", "bullmq-add", "bullmq-add-prioritized", "bullmq-addBulk"] as const;
export type Mode = (typeof MODES)[number];

export const MODE_DESCRIPTIONS: Record<Mode, string> = {
  "ws-single": "worksteal Client.submit, placement chooses",
  "ws-named": "worksteal Client.submit naming the agent (round robin)",
  "ws-bulk": "worksteal Client.submitMany",
  "bullmq-add": "BullMQ Queue.add, round robin over the queues",
  "bullmq-add-prioritized": "BullMQ Queue.add with the priority worksteal gives every job (1001 for task priority 0)",
  "bullmq-addBulk": "BullMQ Queue.addBulk, each chunk split over the queues",
};

export interface RunSettings {
  redis: Redis;
  redisUrl: string;
  tasks: number;
  agents: number;
  concurrency: number;
  coordinators: number;
  inFlight: number;
  chunk: number;
  /** Bounds one run: a run still unfinished after this long fails the bench. */
  timeoutMs: number;
  /**
   * Every process of a run writes a V8 CPU profile under `<cpuProfileDir>/<namespace>/`:
   * `producer.cpuprofile` (this process), and a directory per worker and coordinator.
   */
  cpuProfileDir?: string;
}

/** What one stretch of a run cost, per task. */
export interface Cost {
  commandsPerTask: number;
  /** Per task, by command name, largest first; those under 0.05 per task are left out. */
  commandsByName: Record<string, number>;
  redisCpuUsPerTask: number;
  /** Socket reads Redis made per task: round trips, less those that arrived together. */
  redisReadsPerTask: number;
  nodeCpuUsPerTask: number;
  /** Node CPU per task of the submitting process, the workers and the coordinators. */
  nodeCpuUsPerTaskBy: Record<string, number>;
}

export interface RunFigures extends Cost {
  mode: Mode;
  tasks: number;
  /** First submit to last finish, on the Redis clock. */
  seconds: number;
  tasksPerSecond: number;
  /** Tasks that ended done; anything else fails the bench. */
  done: number;
}

export interface Step extends Cost {
  step: string;
}

/** Whether a mode runs on worksteal (agents and coordinators) or on plain BullMQ workers. */
export const isWorksteal = (mode: Mode) => mode.startsWith("ws-");

let runNumber = 0;

/** One run, measured whole: submits and runs overlap, as they do in production. */
export async function measureRun(settings: RunSettings, mode: Mode): Promise<RunFigures> {
  const run = await prepare(settings, mode);
  try {
    const started = await redisClock(settings.redis);
    const window = await openWindow(settings.redis, run.workers);
    await run.submit();
    await untilFinished(settings, run.workers, run.namespace, mode);
    const cost = await window.close(settings.tasks);
    const { done, lastFinishedAt } = await run.outcome();
    const seconds = (lastFinishedAt - started) / 1000;
    return { mode, tasks: settings.tasks, seconds, tasksPerSecond: Math.round(settings.tasks / seconds), done, ...cost };
  } finally {
    await run.close();
  }
}

/**
 * One run, measured step by step: the workers and coordinators are paused (SIGSTOP) while the
 * tasks are submitted; then the coordinators alone are let go until every event is folded
 * (worksteal); then the workers, until every task is finished. Agents are given a long TTL so
 * that the pause does not make them dead.
 */
export async function measureSteps(settings: RunSettings, mode: Mode): Promise<Step[]> {
  const run = await prepare(settings, mode, { WORKSTEAL_AGENT_TTL_MS: "600000" });
  const { workers } = run;
  try {
    const steps: Step[] = [];
    for (const proc of [...workers.agents, ...workers.coordinators]) proc.pause();
    let window = await openWindow(settings.redis, workers);
    await run.submit();
    steps.push({ step: "submit", ...(await window.close(settings.tasks)) });
    if (isWorksteal(mode)) {
      window = await openWindow(settings.redis, workers);
      for (const proc of workers.coordinators) proc.resume();
      await untilFolded(settings, run.namespace);
      steps.push({ step: "fold submit events", ...(await window.close(settings.tasks)) });
    }
    window = await openWindow(settings.redis, workers);
    for (const proc of workers.agents) proc.resume();
    await untilFinished(settings, workers, run.namespace, mode);
    steps.push({ step: isWorksteal(mode) ? "run (claim, finish, fold)" : "run", ...(await window.close(settings.tasks)) });
    const { done } = await run.outcome();
    if (done !== settings.tasks) throw new Error(`${mode} steps: ${settings.tasks - done} of ${settings.tasks} tasks did not end done`);
    return steps;
  } finally {
    for (const proc of [...workers.agents, ...workers.coordinators]) proc.resume();
    await run.close();
  }
}

interface PreparedRun {
  namespace: string;
  workers: Workers;
  submit(): Promise<void>;
  outcome(): Promise<{ done: number; lastFinishedAt: number }>;
  close(): Promise<void>;
}

async function prepare(settings: RunSettings, mode: Mode, env: Record<string, string> = {}): Promise<PreparedRun> {
  runNumber += 1;
  const namespace = `tp-${mode}-${runNumber}`;
  const profileDir = settings.cpuProfileDir === undefined ? undefined : join(settings.cpuProfileDir, namespace);
  const workers = await startWorkers({ ...settings, namespace, bullmq: !isWorksteal(mode), env, cpuProfileDir: profileDir });
  // The producer's profile covers the run from its workers' start to its close.
  const stopProfile = profileDir === undefined ? undefined : await startCpuProfile(join(profileDir, "producer.cpuprofile"));
  const stopWorkers = async () => {
    await workers.stop();
    await stopProfile?.();
  };
  const ids = Array.from({ length: settings.tasks }, (_, i) => `t${i}`);
  if (isWorksteal(mode)) {
    const client = new Client({ config: { redisUrl: settings.redisUrl, namespace, logLevel: "warn" } });
    return {
      namespace,
      workers,
      submit: () => submitWorksteal(client, settings, mode, ids, workers.queueNames),
      outcome: () => workstealOutcome(settings.redis, namespace, ids),
      close: async () => {
        await client.close();
        await stopWorkers();
      },
    };
  }
  const queues = workers.queueNames.map(
    (name) => new Queue(name, { connection: settings.redis, prefix: keysFor(namespace).bullPrefix, streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } } }),
  );
  return {
    namespace,
    workers,
    submit: () => submitBullmq(queues, settings, mode, ids),
    outcome: () => bullmqOutcome(settings, workers),
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
      await stopWorkers();
    },
  };
}

/** Runs `work(i)` for i in [0, count) with at most `inFlight` at a time. */
async function inFlight(count: number, limit: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function submitWorksteal(client: Client, settings: RunSettings, mode: Mode, ids: string[], agentIds: string[]): Promise<void> {
  const input = (i: number): SubmitInput => ({
    id: ids[i]!,
    type: "noop",
    payload: {},
    ...(mode === "ws-named" ? { agentId: agentIds[i % agentIds.length]! } : {}),
  });
  if (mode !== "ws-bulk") {
    await inFlight(ids.length, settings.inFlight, (i) => client.submit(input(i)));
    return;
  }
  const results = await client.submitMany(
    ids.map((_, i) => input(i)),
    { chunkSize: settings.chunk },
  );
  const refused = results.filter((r) => "refused" in r).length;
  if (refused > 0) throw new Error(`submitMany refused ${refused} tasks`);
}

/**
 * The job options worksteal's AgentQueues.enqueue gives, so that both sides store the same jobs
 * (removed as they finish); but for the priority (every worksteal job has one), given only in
 * `bullmq-add-prioritized` to show what it costs.
 */
function jobOptions(id: string) {
  return { jobId: jobIdFor(id, 1), attempts: 3, removeOnComplete: true, removeOnFail: true };
}

async function submitBullmq(queues: Queue[], settings: RunSettings, mode: Mode, ids: string[]): Promise<void> {
  if (mode === "bullmq-add" || mode === "bullmq-add-prioritized") {
    const priority = mode === "bullmq-add-prioritized" ? { priority: bullPriorityOf(0) } : {};
    await inFlight(ids.length, settings.inFlight, (i) =>
      queues[i % queues.length]!.add("task", { taskId: ids[i]!, epoch: 1 }, { ...jobOptions(ids[i]!), ...priority }),
    );
    return;
  }
  for (let start = 0; start < ids.length; start += settings.chunk) {
    const perQueue = queues.map(() => [] as Array<{ name: string; data: { taskId: string; epoch: number }; opts: ReturnType<typeof jobOptions> }>);
    for (let i = start; i < Math.min(ids.length, start + settings.chunk); i++) {
      perQueue[i % queues.length]!.push({ name: "task", data: { taskId: ids[i]!, epoch: 1 }, opts: jobOptions(ids[i]!) });
    }
    await Promise.all(queues.flatMap((queue, q) => (perQueue[q]!.length > 0 ? [queue.addBulk(perQueue[q]!)] : [])));
  }
}

/** Every handler has run and every job is finished; for worksteal, every event folded too. */
async function untilFinished(settings: RunSettings, workers: Workers, namespace: string, mode: Mode): Promise<void> {
  const deadline = Date.now() + settings.timeoutMs;
  while (workers.handled() < settings.tasks || (await workers.active()) > 0) {
    if (Date.now() > deadline) throw new Error(`${mode}: ${workers.handled()} of ${settings.tasks} tasks handled after ${settings.timeoutMs} ms`);
    await sleep(20);
  }
  if (isWorksteal(mode)) await untilFolded(settings, namespace);
}

/** The fold cursor stands at the stream's last entry: every event is folded. */
async function untilFolded(settings: RunSettings, namespace: string): Promise<void> {
  const deadline = Date.now() + settings.timeoutMs;
  while (!foldCaughtUp(await readFoldProgress({ redis: settings.redis, keys: keysFor(namespace) }))) {
    if (Date.now() > deadline) throw new Error(`events not folded after ${settings.timeoutMs} ms`);
    await sleep(20);
  }
}

/** Samples now; `close` samples again and gives the cost per task in between. */
async function openWindow(redis: Redis, workers: Workers): Promise<{ close(tasks: number): Promise<Cost> }> {
  const groups = { producer: [undefined], workers: workers.agents.map((p) => p.pid), coordinators: workers.coordinators.map((p) => p.pid) };
  const processesBefore = sampleProcesses(groups);
  const redisBefore = await sampleRedis(redis);
  return {
    async close(tasks) {
      const redisAfter = await sampleRedis(redis);
      const node = processCost(processesBefore, sampleProcesses(groups));
      return costPerTask(redisCost(redisBefore, redisAfter), node, tasks);
    },
  };
}

function costPerTask(redis: RedisCost, node: Record<string, number>, tasks: number): Cost {
  const perTask = (n: number) => Number((n / tasks).toFixed(2));
  const micros = (seconds: number) => Math.round((seconds * 1e6) / tasks);
  return {
    commandsPerTask: perTask(redis.totalCalls),
    commandsByName: Object.fromEntries(
      [...redis.calls]
        .sort((a, b) => b[1] - a[1])
        .map(([name, calls]) => [name, perTask(calls)] as const)
        .filter(([, calls]) => calls >= 0.05),
    ),
    redisCpuUsPerTask: micros(redis.cpuSeconds),
    redisReadsPerTask: perTask(redis.reads),
    nodeCpuUsPerTask: micros(Object.values(node).reduce((a, b) => a + b, 0)),
    nodeCpuUsPerTaskBy: Object.fromEntries(Object.entries(node).map(([name, seconds]) => [name, micros(seconds)])),
  };
}

/** Tasks whose record says done, and the latest finish (Redis clock, ms); read after the window. */
export async function workstealOutcome(redis: Redis, namespace: string, ids: string[]): Promise<{ done: number; lastFinishedAt: number }> {
  const keys = keysFor(namespace);
  let done = 0;
  let lastFinishedAt = 0;
  for (let start = 0; start < ids.length; start += 1000) {
    const pipeline = redis.pipeline();
    for (const id of ids.slice(start, start + 1000)) pipeline.hmget(keys.task(id), "state", "finishedAt");
    for (const [, reply] of (await pipeline.exec()) ?? []) {
      const [state, finishedAt] = reply as [string | null, string | null];
      if (state === "done") done++;
      lastFinishedAt = Math.max(lastFinishedAt, Number(finishedAt ?? 0));
    }
  }
  return { done, lastFinishedAt };
}

/**
 * Jobs completed, as the workers report them (finished jobs are removed), once every one has,
 * and the latest completion: the workers' clock, this machine's, as the Redis clock the window
 * starts at.
 */
async function bullmqOutcome(settings: RunSettings, workers: Workers): Promise<{ done: number; lastFinishedAt: number }> {
  const deadline = Date.now() + settings.timeoutMs;
  while (workers.finished().count < settings.tasks && Date.now() < deadline) await sleep(20);
  const { count, lastAt } = workers.finished();
  return { done: count, lastFinishedAt: lastAt };
}
