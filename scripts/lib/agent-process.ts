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
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { z } from "zod";
import { Worker } from "bullmq";
import { Agent } from "@worksteal/agent";
import { loadConfig, redisTargetOf } from "@worksteal/config";
import { keysFor } from "@worksteal/protocol";
import { createRedis } from "@worksteal/store";
import { type ArgsOf, flag, option, runScript } from "./args.js";
import { SHARED_QUEUE } from "./workload.js";

const COMMAND = {
  name: "agent-process",
  usage: "node --conditions=@worksteal/source --import tsx scripts/lib/agent-process.ts --id ID",
  summary: "An agent as its own process for the demo, the benches, the soaks and the tests: tasks sleep payload.ms × speed; runs are counted in the run log.",
  options: {
    id: option(z.string().min(1), { valueName: "ID", help: "the agent's id (required)" }),
    capabilities: option(
      z.string().transform((s) => s.split(",").filter(Boolean)),
      { default: "", valueName: "LIST", help: "capabilities, comma-separated" },
    ),
    concurrency: option(z.coerce.number().int().min(1), { default: "1", valueName: "N", help: "slots" }),
    speed: option(z.coerce.number().positive(), { default: "1", valueName: "X", help: "multiplies every task's duration: 2 is twice as slow" }),
    "fail-rate": option(z.coerce.number().min(0).max(1), { default: "0", valueName: "P", help: "share of runs that throw" }),
    shared: flag("a plain BullMQ worker on the benchmark's one shared queue instead of a worksteal agent"),
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

const PayloadSchema = z
  .object({
    ms: z.number().nonnegative().default(10),
    /** Poison tasks for the chaos soak: a result that cannot be stored, or a handler that kills its own process. */
    poison: z.enum(["unserialisable", "crash"]).optional(),
    /** Attempts that throw before one succeeds: a task that retries. */
    failAttempts: z.number().int().min(0).default(0),
  })
  .passthrough();

/** Runs until SIGTERM or SIGINT, then closes gracefully. */
async function main(args: Args): Promise<number> {
  // Listening from the start: a signal that comes while the agent starts closes it once started.
  const stopped = Promise.race([once(process, "SIGTERM"), once(process, "SIGINT")]);
  const config = loadConfig();
  // The agent's own settings (a cluster, a password file, TLS): the run log is in its namespace.
  const redis = createRedis(redisTargetOf(config));
  const { runLog, runEpochLog, runRestartLog } = keysFor(config.namespace);
  const run = async (taskId: string, epoch: number, payload: unknown, attempt = 1, signal?: AbortSignal, restarted = false): Promise<unknown> => {
    const log = redis.multi().hincrby(runLog, taskId, 1).hincrby(runEpochLog, `${taskId}@${epoch}`, 1);
    // The run it takes up again was cut off: the chaos audit's evidence that it ended.
    if (restarted) log.hincrby(runRestartLog, `${taskId}@${epoch}`, 1);
    await log.exec();
    const { ms, poison, failAttempts } = PayloadSchema.parse(payload ?? {});
    // A timeout or a cancel aborts the signal: the sleep ends there, with the signal's reason.
    await sleep(ms * args.speed, undefined, signal ? { signal } : {}).catch(() => {
      throw signal?.reason ?? new Error("aborted");
    });
    if (attempt <= failAttempts) throw new Error(`attempt ${attempt} fails on purpose`);
    if (poison === "crash") process.kill(process.pid, "SIGKILL");
    if (poison === "unserialisable") return { by: args.id, count: 1n };
    if (Math.random() < args["fail-rate"]) throw new Error("injected failure");
    return { by: args.id };
  };

  const agent = args.shared
    ? new Worker<{ payload: unknown }>(SHARED_QUEUE, (job) => run(job.id!, 0, job.data.payload), {
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
        handler: (task) => run(task.id, task.epoch, task.payload, task.attempt, task.signal, task.restarted),
      });
  if (agent instanceof Agent) await agent.start();
  else await agent.waitUntilReady();
  process.stdout.write(`${JSON.stringify({ msg: "agent ready", agentId: args.id })}\n`);

  await stopped;
  await agent.close();
  await redis.quit();
  return 0;
}

await runScript(COMMAND, main);
