/**
 * How long a cancel takes to reach a running handler: an agent reads the cancel marks of the
 * tasks it runs every `cancelPollMs`, so the signal is aborted within that plus a round trip.
 * Baseline, in the same run: cancelling a queued task, which is one script (done when the call
 * returns). On its own redis-server; one agent in this process (its handler sees the signal).
 *
 *   pnpm bench:cancel [--samples 40] [--cancel-poll-ms 250] [--json]
 */
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { z } from "zod";
import { Agent } from "@worksteal/agent";
import { Client } from "@worksteal/client";
import { hasRedisServerBinary, REDIS_SERVER_MISSING, startRedisServer } from "@worksteal/testkit";
import { type ArgsOf, JSON_FLAG, option, runScript } from "./lib/args.js";
import { NoRedisError } from "./lib/fleet.js";
import { describeMachine, printJson, progress } from "./lib/report.js";
import { maximum, median, quantile } from "./lib/stats.js";

const COMMAND = {
  name: "bench-cancel",
  usage: "pnpm bench:cancel",
  summary: "Latency from Client.cancel() to a running handler's aborted signal, against cancelling a queued task (one script) in the same run.",
  options: {
    samples: option(z.coerce.number().int().min(5).max(10_000), { default: "40", valueName: "N", help: "cancels of each kind" }),
    "cancel-poll-ms": option(z.coerce.number().int().min(1).max(60_000), { default: "250", valueName: "MS", help: "the agent's cancelPollMs" }),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

interface Figure {
  case: string;
  samples: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

async function main(args: Args): Promise<number> {
  if (!hasRedisServerBinary()) throw new NoRedisError(REDIS_SERVER_MISSING);
  const server = await startRedisServer({ appendOnly: false });
  const config = { redisUrl: server.url, namespace: "bench-cancel", logLevel: "silent" as const, cancelPollMs: args["cancel-poll-ms"] };
  const client = new Client({ config });
  const started = new Map<string, () => void>();
  const aborted = new Map<string, number>();
  const agent = new Agent({
    id: "a1",
    concurrency: 1,
    config,
    handler: (task) =>
      new Promise<void>((resolve) => {
        task.signal.addEventListener("abort", () => {
          aborted.set(task.id, performance.now());
          resolve();
        });
        started.get(task.id)?.();
      }),
  });
  try {
    await agent.start();
    const running: number[] = [];
    const queued: number[] = [];
    for (let i = 0; i < args.samples; i++) {
      const id = `r${i}`;
      const isRunning = new Promise<void>((resolve) => started.set(id, resolve));
      await client.submit({ id, agentId: "a1" });
      await isRunning;
      const cancelledAt = performance.now();
      await client.cancel(id);
      await client.waitFor(id, { timeoutMs: 30_000 });
      running.push(aborted.get(id)! - cancelledAt);
      // The baseline: a task that cannot start yet (the agent is busy with a blocker).
      const blocker = `b${i}`;
      const blocked = new Promise<void>((resolve) => started.set(blocker, resolve));
      await client.submit({ id: blocker, agentId: "a1" });
      await blocked;
      await client.submit({ id: `q${i}`, agentId: "a1" });
      const at = performance.now();
      await client.cancel(`q${i}`);
      queued.push(performance.now() - at);
      await client.cancel(blocker);
      await client.waitFor(blocker, { timeoutMs: 30_000 });
      if (!args.json && (i + 1) % 10 === 0) progress(`${i + 1}/${args.samples}`);
    }
    const figure = (name: string, values: number[]): Figure => ({
      case: name,
      samples: values.length,
      p50Ms: round(median(values)),
      p95Ms: round(quantile(values, 0.95)),
      maxMs: round(maximum(values)),
    });
    const figures = [
      figure("queued task: cancel() returns (baseline)", queued),
      figure(`running task: signal aborted (cancelPollMs ${args["cancel-poll-ms"]})`, running),
    ];
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
    if (args.json) printJson({ figures, cancelPollMs: args["cancel-poll-ms"], load, machine: describeMachine() });
    else {
      console.log(`${describeMachine()}; load ${load}`);
      console.log("case".padEnd(60) + "p50 ms".padStart(9) + "p95 ms".padStart(9) + "max ms".padStart(9));
      for (const f of figures) console.log(f.case.padEnd(60) + String(f.p50Ms).padStart(9) + String(f.p95Ms).padStart(9) + String(f.maxMs).padStart(9));
    }
    return 0;
  } finally {
    await agent.close();
    await client.close();
    await server.stop();
  }
}

function round(value: number | undefined): number {
  return Math.round((value ?? Number.NaN) * 10) / 10;
}

await runScript(COMMAND, main);
