/**
 * A demo / test agent as its own process. Each task's payload says how long it takes
 * (`{ms}`); the agent's `--speed` multiplies that. Every run is counted in the namespace's run
 * log, so a task run twice is caught. Logs are pino JSON on stdout; SIGTERM closes gracefully.
 *
 *   agent-process.ts --id a1 [--capabilities gpu,ssd] [--concurrency 2] [--speed 1.5] [--fail-rate 0] [--shared]
 *
 * --shared: the benchmark's baseline instead of a worksteal agent: a plain BullMQ worker on one
 * queue that every agent pulls from (no placement, no stealing, no capabilities).
 * Redis and namespace come from REDIS_URL / WORKSTEAL_NAMESPACE.
 */
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { z } from "zod";
import { Worker } from "bullmq";
import { Agent } from "@worksteal/agent";
import { loadConfig } from "@worksteal/config";
import { keysFor } from "@worksteal/protocol";
import { SHARED_QUEUE } from "./workload.js";

const { values } = parseArgs({
  options: {
    id: { type: "string" },
    capabilities: { type: "string", default: "" },
    concurrency: { type: "string", default: "1" },
    speed: { type: "string", default: "1" },
    "fail-rate": { type: "string", default: "0" },
    shared: { type: "boolean", default: false },
  },
});
const args = z
  .object({
    id: z.string(),
    capabilities: z.string().transform((s) => s.split(",").filter(Boolean)),
    concurrency: z.coerce.number().int().min(1),
    speed: z.coerce.number().positive(),
    "fail-rate": z.coerce.number().min(0).max(1),
    shared: z.boolean(),
  })
  .parse(values);

const config = loadConfig();
const redis = new Redis(config.redisUrl);
const { runLog, runEpochLog } = keysFor(config.namespace);

const PayloadSchema = z
  .object({
    ms: z.number().nonnegative().default(10),
    /** Poison tasks for the chaos soak: a result that cannot be stored, or a handler that kills its own process. */
    poison: z.enum(["unserialisable", "crash"]).optional(),
  })
  .passthrough();

async function run(taskId: string, epoch: number, payload: unknown): Promise<unknown> {
  await redis.multi().hincrby(runLog, taskId, 1).hincrby(runEpochLog, `${taskId}@${epoch}`, 1).exec();
  const { ms, poison } = PayloadSchema.parse(payload ?? {});
  await new Promise((r) => setTimeout(r, ms * args.speed));
  if (poison === "crash") process.kill(process.pid, "SIGKILL");
  if (poison === "unserialisable") return { by: args.id, count: 1n };
  if (Math.random() < args["fail-rate"]) throw new Error("injected failure");
  return { by: args.id };
}

const agent = args.shared
  ? new Worker(SHARED_QUEUE, (job) => run(job.id!, 0, job.data.payload), {
      connection: new Redis(config.redisUrl, { maxRetriesPerRequest: null }),
      prefix: keysFor(config.namespace).bullPrefix,
      concurrency: args.concurrency,
      // Names the worker's connection: the fleet sees this agent is up when it is listed on the queue.
      name: args.id,
    })
  : new Agent({
      id: args.id,
      capabilities: args.capabilities,
      concurrency: args.concurrency,
      handler: (task) => run(task.id, task.epoch, task.payload),
    });
if (agent instanceof Agent) await agent.start();
else await agent.waitUntilReady();
process.stdout.write(`${JSON.stringify({ msg: "agent ready", agentId: args.id })}\n`);

const stop = () => {
  void agent
    .close()
    .then(() => redis.quit())
    .finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
