/**
 * bench:throughput's worker process: a worksteal Agent, or a plain BullMQ Worker on one queue,
 * whose handler does nothing. It writes nothing to Redis of its own (no run log), so every
 * Redis command it causes is the library's. It reports on stdout, never through Redis, so that
 * watching it costs Redis nothing:
 *   {"msg":"ready"} once its worker takes jobs;
 *   {"handled":N} each time its count of handler calls has grown, at most every 50 ms; a plain
 *   BullMQ worker adds "finished" (jobs completed) and "lastFinishedAt" (this machine's clock,
 *   ms): its jobs are removed as they finish, as worksteal's are, so no finished job tells when.
 * Redis and namespace come from REDIS_URL / WORKSTEAL_NAMESPACE. SIGTERM closes it gracefully.
 */
import { once } from "node:events";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import { Agent } from "@worksteal/agent";
import { loadConfig } from "@worksteal/config";
import { keysFor } from "@worksteal/protocol";
import { type ArgsOf, option, runScript } from "../args.js";

const COMMAND = {
  name: "noop-agent",
  usage: "node --conditions=@worksteal/source --import tsx scripts/lib/throughput/noop-agent.ts --id ID",
  summary: "bench:throughput's worker: a worksteal agent, or a plain BullMQ worker on one queue, whose handler does nothing.",
  options: {
    id: option(z.string().min(1), { valueName: "ID", help: "the agent's id, or the BullMQ worker's name (required)" }),
    concurrency: option(z.coerce.number().int().min(1), { default: "50", valueName: "N", help: "slots" }),
    bullmq: option(z.string().optional(), { valueName: "QUEUE", help: "a plain BullMQ worker on this queue instead of a worksteal agent" }),
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

const REPORT_EVERY_MS = 50;

async function main(args: Args): Promise<number> {
  const stopped = Promise.race([once(process, "SIGTERM"), once(process, "SIGINT")]);
  let handled = 0;
  const handler = () => {
    handled += 1;
    return Promise.resolve(null);
  };
  const config = loadConfig();
  const worker = args.bullmq
    ? new Worker(args.bullmq, handler, {
        connection: new Redis(config.redisUrl, { maxRetriesPerRequest: null }),
        prefix: keysFor(config.namespace).bullPrefix,
        concurrency: args.concurrency,
        name: args.id,
      })
    : new Agent({ id: args.id, capabilities: [], concurrency: args.concurrency, handler });
  if (worker instanceof Agent) await worker.start();
  else await worker.waitUntilReady();
  process.stdout.write(`${JSON.stringify({ msg: "ready", id: args.id })}\n`);

  let finished = 0;
  let lastFinishedAt = 0;
  if (worker instanceof Worker) {
    worker.on("completed", () => {
      finished += 1;
      lastFinishedAt = Date.now();
    });
  }
  let reported = "";
  const timer = setInterval(() => {
    const report = JSON.stringify(worker instanceof Worker ? { handled, finished, lastFinishedAt } : { handled });
    if (report === reported) return;
    reported = report;
    process.stdout.write(`${report}\n`);
  }, REPORT_EVERY_MS);
  await stopped;
  clearInterval(timer);
  await worker.close();
  return 0;
}

await runScript(COMMAND, main);
