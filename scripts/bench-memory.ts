/**
 * What worksteal keeps in Redis: bytes per queued task, per finished task, and per agent (its
 * BullMQ queue's own keys), against plain BullMQ's queued job of the same payload in the same run.
 * On its own redis-server (no persistence), summing MEMORY USAGE (SAMPLES 0: exact) over the
 * namespace's keys after each step (`used_memory` would count the connections' buffers too):
 *   1. `--tasks` tasks are submitted to agents that are registered but not yet started: each is
 *      a record, a job, its events, its place in the agent's sets (queued).
 *   2. The agents start and run them (a no-op handler); a coordinator replica folds the events,
 *      and once every task is done and folded the stream is trimmed, as maintenance does: what
 *      is left per task is its record, kept for `retentionMs` (finished).
 *   3. Each agent queue's BullMQ keys, by MEMORY USAGE: what an agent costs whatever it runs.
 * The baseline: the same number of jobs added to a plain BullMQ queue, nobody taking them.
 *
 *   pnpm bench:memory [--tasks 5000] [--agents 2] [--payload-bytes 60] [--json]
 */
import { loadavg } from "node:os";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import { Agent } from "@worksteal/agent";
import { Client } from "@worksteal/client";
import { Replica } from "@worksteal/coordinator";
import { agentQueueName, keysFor } from "@worksteal/protocol";
import { foldCaughtUp, QUEUE_EVENTS_MAX_LEN, readFoldProgress, Store } from "@worksteal/store";
import { hasRedisServerBinary, REDIS_SERVER_MISSING, sleep, startRedisServer } from "@worksteal/testkit";
import { type ArgsOf, JSON_FLAG, option, runScript } from "./lib/args.js";
import { NoRedisError } from "./lib/fleet.js";
import { describeMachine, printJson, progress } from "./lib/report.js";
import { workstealOutcome } from "./lib/throughput/run.js";

const COMMAND = {
  name: "bench:memory",
  usage: "pnpm bench:memory",
  summary: "Redis memory per queued task, per finished task and per agent, against a plain BullMQ queued job in the same run.",
  options: {
    tasks: option(z.coerce.number().int().min(100).max(1_000_000), { default: "5000", valueName: "N", help: "tasks submitted" }),
    agents: option(z.coerce.number().int().min(1).max(64), { default: "2", valueName: "N", help: "agents the tasks are spread over" }),
    "payload-bytes": option(z.coerce.number().int().min(0).max(65_536), {
      default: "60",
      valueName: "N",
      help: "each task's payload, a JSON string of about this size",
    }),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

const NAMESPACE = "bench-memory";
/** How long each step may take before the bench fails. */
const STEP_TIMEOUT_MS = 300_000;

async function main(args: Args): Promise<number> {
  if (!hasRedisServerBinary()) throw new NoRedisError(REDIS_SERVER_MISSING);
  const server = await startRedisServer({ appendOnly: false });
  const redis = new Redis(server.url);
  const config = { redisUrl: server.url, namespace: NAMESPACE, logLevel: "silent" as const, retentionMs: 3_600_000 };
  const agentIds = Array.from({ length: args.agents }, (_, i) => `a${i + 1}`);
  const payload = { data: "x".repeat(Math.max(0, args["payload-bytes"] - 11)) };
  const ids = Array.from({ length: args.tasks }, (_, i) => `t${i}`);
  const client = new Client({ config });
  const store = new Store(redis, NAMESPACE);
  const agents = agentIds.map((id) => new Agent({ id, concurrency: 50, config, handler: () => null }));
  const replica = new Replica({ config });
  const baselineQueue = new Queue("plain", { connection: redis, prefix: "baseline", streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } } });
  try {
    // The baseline first: plain BullMQ jobs of the same payload, waiting.
    for (let i = 0; i < ids.length; i += 500) {
      await baselineQueue.addBulk(ids.slice(i, i + 500).map((id) => ({ name: "task", data: { taskId: id, payload }, opts: { jobId: `j${id}` } })));
    }
    const bullmqJob = (await keysMemory(redis, "baseline:plain:*")) / ids.length;

    const keys = keysFor(NAMESPACE);
    const namespaceKeys = `${keys.prefix}*`;
    for (const id of agentIds) await store.registerAgent({ id, capabilities: [], concurrency: 50, priority: 0 });
    const registered = await keysMemory(redis, namespaceKeys);
    for (let i = 0; i < ids.length; i += 500) {
      await client.submitMany(ids.slice(i, i + 500).map((id, j) => ({ id, payload, agentId: agentIds[(i + j) % agentIds.length]! })));
    }
    const queuedTask = ((await keysMemory(redis, namespaceKeys)) - registered) / ids.length;
    if (!args.json) progress(`${ids.length} tasks queued; running them`);

    await replica.start();
    await Promise.all(agents.map((a) => a.start()));
    await until("every task done", async () => (await workstealOutcome(redis, NAMESPACE, ids)).done === ids.length);
    await until("every event folded", async () => foldCaughtUp(await readFoldProgress(store)));
    await store.trimEvents(0);
    await Promise.all(agents.map((a) => a.close()));
    await replica.stop();
    const records = (await keysMemory(redis, `${keys.prefix}task:*`)) / ids.length;
    const finishedTask = ((await keysMemory(redis, namespaceKeys)) - registered) / ids.length;
    const queueBytes = await Promise.all(agentIds.map((id) => keysMemory(redis, `${keys.bullPrefix}:${agentQueueName(id)}:*`)));
    const perAgentQueue = queueBytes.reduce((a, b) => a + b, 0) / agentIds.length;
    const eventsEntries = await redis.xlen(`${keys.bullPrefix}:${agentQueueName(agentIds[0]!)}:events`);

    const figures = {
      bullmqQueuedJobBytes: Math.round(bullmqJob),
      queuedTaskBytes: Math.round(queuedTask),
      finishedTaskBytes: Math.round(finishedTask),
      finishedRecordBytes: Math.round(records),
      agentQueueBytes: Math.round(perAgentQueue),
      agentQueueEventsEntries: eventsEntries,
      agentRegistrationBytes: Math.round(registered / agentIds.length),
    };
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
    const setup = { tasks: args.tasks, agents: args.agents, payloadBytes: JSON.stringify(payload).length };
    if (args.json) printJson({ ...setup, ...figures, load, machine: describeMachine() });
    else {
      console.log(`${args.tasks} tasks of a ${setup.payloadBytes}-byte payload over ${args.agents} agents; ${describeMachine()}; load ${load}`);
      console.log(`plain BullMQ job, waiting (baseline)          ${figures.bullmqQueuedJobBytes} bytes`);
      console.log(`worksteal task, queued (record, job, events)  ${figures.queuedTaskBytes} bytes (${(queuedTask / bullmqJob).toFixed(2)}× the baseline)`);
      console.log(
        `worksteal task, finished                      ${figures.finishedTaskBytes} bytes (its record ${figures.finishedRecordBytes}, kept for retentionMs)`,
      );
      console.log(`an agent's BullMQ queue after the run         ${figures.agentQueueBytes} bytes (events stream: ${eventsEntries} entries)`);
      console.log(`an agent's registration (its keys, its share of the fleet's) ${figures.agentRegistrationBytes} bytes`);
    }
    return 0;
  } finally {
    await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
    await replica.stop().catch(() => undefined);
    await baselineQueue.close();
    await client.close();
    redis.disconnect();
    await server.stop();
  }
}

/** MEMORY USAGE summed over the keys matching `pattern`. */
async function keysMemory(redis: Redis, pattern: string): Promise<number> {
  let total = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.call("MEMORY", "USAGE", key, "SAMPLES", "0");
    for (const [, bytes] of (await pipeline.exec()) ?? []) total += Number(bytes ?? 0);
  } while (cursor !== "0");
  return total;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${STEP_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

await runScript(COMMAND, main);
