/**
 * Live demo: Redis (REDIS_URL, or a private redis-server that is stopped at the end), one
 * coordinator and six agents with mixed capabilities and speeds, each its own process; a
 * skewed batch of tasks; per-agent queues drawn live; then a summary.
 *
 *   pnpm demo [--tasks 2000] [--seed 42] [--json]
 *
 * --json prints only the final summary as one JSON object on stdout. Progress of the start goes to
 * stderr; a failure is one line there ("demo: ...") and a non-zero exit.
 */
import { z } from "zod";
import { Client } from "@worksteal/client";
import { readAgents, Store } from "@worksteal/store";
import type { AgentView } from "@worksteal/protocol";
import { type ArgsOf, ExitError, flag, option, runScript } from "./lib/args.js";
import { type Fleet, startFleet } from "./lib/fleet.js";
import { printJson } from "./lib/report.js";
import { ratio } from "./lib/stats.js";
import { type Outcome, waitForAll } from "./lib/wait-for-all.js";
import { DEMO_AGENTS, makespanLowerBound, skewedWorkload } from "./lib/workload.js";

const COMMAND = {
  name: "demo",
  usage: "pnpm demo",
  summary: "Redis, one coordinator and six agents (each its own process), a skewed batch of tasks, the agents' queues drawn live, then a summary.",
  options: {
    tasks: option(z.coerce.number().int().min(1).max(1_000_000), { default: "2000", valueName: "N", help: "tasks in the batch" }),
    seed: option(z.coerce.number().int(), { default: "42", valueName: "N", help: "seed of the workload" }),
    json: flag("print only the summary, as one JSON object on stdout; exit 1 if a task was lost or run twice"),
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

/** Planner settings of the demo (and of bench:steal): plan every 250 ms, up to 50 tasks a directive. */
const DEMO_SETTINGS = { WORKSTEAL_STEAL_INTERVAL: "250", WORKSTEAL_MAX_STEAL_BATCH: "50" };

async function main(args: Args): Promise<number> {
  const say = (line: string) => {
    if (!args.json) process.stdout.write(`${line}\n`);
  };
  const namespace = `demo-${process.pid}`;
  // Progress of the start goes to stderr, so that --json leaves stdout to the summary alone.
  const progress = (line: string) => process.stderr.write(`demo: ${line}\n`);
  const fleet = await startFleet({ namespace, agents: DEMO_AGENTS, coordinators: 1, env: DEMO_SETTINGS, onProgress: progress }).catch(oneLine);
  say(`inspect it meanwhile with: pnpm worksteal agents --redis ${fleet.redisUrl} --namespace ${namespace}`);
  const tasks = skewedWorkload({ tasks: args.tasks, seed: args.seed });
  const lowerBound = makespanLowerBound(tasks, DEMO_AGENTS);
  const client = new Client({ config: { redisUrl: fleet.redisUrl, namespace, logLevel: "warn" } });
  const store = new Store(fleet.redis, namespace);

  let outcome: Outcome;
  let steals: number;
  try {
    say(`submitting ${tasks.length} tasks (60% to a1, 25% to a2)...`);
    for (let i = 0; i < tasks.length; i += 50) await Promise.all(tasks.slice(i, i + 50).map((t) => client.submit(t)));
    const started = Date.now();
    let lastDraw = 0;
    outcome = await waitForAll(
      fleet.redis,
      namespace,
      tasks.map((t) => t.id),
      Math.max(120_000, lowerBound * 20),
      async (finished) => {
        if (args.json || Date.now() - lastDraw < 1000) return;
        lastDraw = Date.now();
        draw(await readAgents(store, client.config.agentTtlMs), await recentSteals(fleet, store), finished, tasks.length, Date.now() - started);
      },
    );
    steals = await fleet.redis.zcard(store.keys.steals);
  } catch (error) {
    oneLine(error);
  } finally {
    await client.close();
    await fleet.stop();
  }

  const { lastFinishedAt: _, ...figures } = outcome;
  const summary = { ...figures, steals, lowerBoundMs: Math.round(lowerBound), ratioToLowerBound: ratio(outcome.makespanMs, lowerBound) };
  if (args.json) printJson(summary);
  else {
    say("");
    say(`submitted ${summary.submitted}  done ${summary.done}  failed ${summary.failed}  lost ${summary.lost}  run twice ${summary.runTwice}`);
    say(`steals ${summary.steals}, moving ${summary.moved} tasks`);
    say(`makespan ${(summary.makespanMs / 1000).toFixed(2)} s; lower bound ${(lowerBound / 1000).toFixed(2)} s (ratio ${summary.ratioToLowerBound})`);
  }
  if (summary.lost > 0 || summary.runTwice > 0) {
    console.error(`demo: ${summary.lost} of ${summary.submitted} tasks not finished in time, ${summary.runTwice} run twice`);
    return 1;
  }
  return 0;
}

/** A failure of the demo is one line, no stack trace: what failed is all a reader needs. */
function oneLine(error: unknown): never {
  if (error instanceof ExitError) throw error;
  throw new ExitError(error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error), 1);
}

/** The latest steal operations, newest first, as one line each. */
async function recentSteals(fleet: Fleet, store: Store): Promise<string[]> {
  const ids = await fleet.redis.zrevrange(store.keys.steals, 0, 2);
  const total = await fleet.redis.zcard(store.keys.steals);
  const lines = [`steals so far: ${total}`];
  for (const id of ids) {
    const op = await fleet.redis.hgetall(store.keys.steal(id));
    const moved = z.array(z.string()).parse(JSON.parse(op.taskIds ?? "[]")).length;
    lines.push(`  ${op.source} -> ${op.target}: ${moved}/${op.requested} ${op.status}`);
  }
  return lines;
}

function draw(agents: AgentView[], steals: string[], finished: number, total: number, elapsedMs: number): void {
  const width = 40;
  const maxQueued = Math.max(1, ...agents.map((a) => a.workload.queued));
  const lines = [`t=${(elapsedMs / 1000).toFixed(1)}s  finished ${finished}/${total}`];
  for (const a of agents) {
    const bar = "#".repeat(Math.round((Math.max(0, a.workload.queued) / maxQueued) * width));
    lines.push(
      `${a.id.padEnd(4)} [${a.capabilities.join(",").padEnd(7)}] x${a.concurrency} ` +
        `queued ${String(a.workload.queued).padStart(5)} running ${a.workload.running} done ${String(a.workload.done).padStart(5)} ${bar}`,
    );
  }
  lines.push(...steals);
  process.stdout.write(`${lines.join("\n")}\n\n`);
}

await runScript(COMMAND, main);
