/**
 * Live demo: Redis (REDIS_URL, or a private redis-server that is stopped at the end), one
 * coordinator and six agents with mixed capabilities and speeds, each its own process; a
 * skewed batch of tasks; per-agent queues drawn live (redrawn in place on a terminal, appended
 * frames otherwise); then a summary.
 *
 *   pnpm demo [--tasks 2000] [--seed 42] [--json]
 *
 * --json prints only the final summary as one JSON object on stdout. Progress of the start goes to
 * stderr; a failure is one line there ("demo: ...") and a non-zero exit.
 */
import { z } from "zod";
import { BAR_LEGEND, barScale, loadBar } from "@worksteal/cli";
import { Client } from "@worksteal/client";
import { readAgents, readSteals, Store } from "@worksteal/store";
import type { AgentView, StealOperation } from "@worksteal/protocol";
import { freePort } from "@worksteal/testkit";
import { type ArgsOf, ExitError, flag, option, runScript } from "./lib/args.js";
import { startFleet } from "./lib/fleet.js";
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
    "dashboard-port": option(z.coerce.number().int().min(0).max(65535), {
      default: "0",
      valueName: "PORT",
      help: "port of the coordinator's web dashboard, opened while the demo runs (default: a free one)",
    }),
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
  const port = args["dashboard-port"] === 0 ? await freePort() : args["dashboard-port"];
  // Only the coordinator serves HTTP: the agents read the same settings and ignore these.
  const env = { ...DEMO_SETTINGS, WORKSTEAL_HTTP_PORT: String(port), WORKSTEAL_DASHBOARD: "true" };
  const fleet = await startFleet({ namespace, agents: DEMO_AGENTS, coordinators: 1, env, onProgress: progress }).catch(oneLine);
  say(`dashboard while it runs: http://127.0.0.1:${port}/dashboard/`);
  say(`inspect it meanwhile with: pnpm worksteal watch --redis ${fleet.redisUrl} --namespace ${namespace} (or agents, steals, events tail --follow, …)`);
  const tasks = skewedWorkload({ tasks: args.tasks, seed: args.seed });
  const lowerBound = makespanLowerBound(tasks, DEMO_AGENTS);
  const client = new Client({ config: { redisUrl: fleet.redisUrl, namespace, logLevel: "warn" } });
  const store = new Store(fleet.redis, namespace);

  let outcome: Outcome;
  let steals: number;
  const view = new LiveView(process.stdout.isTTY);
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
        const [agents, recent, total] = await Promise.all([
          readAgents(store, client.config.agentTtlMs),
          readSteals(store, 3),
          fleet.redis.zcard(store.keys.steals),
        ]);
        view.draw(agents, recent.steals, total, finished, tasks.length, Date.now() - started);
      },
    );
    steals = await fleet.redis.zcard(store.keys.steals);
  } catch (error) {
    oneLine(error);
  } finally {
    view.end();
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

const BAR_WIDTH = 40;
const LEGEND = [
  `bars: ${BAR_LEGEND}, on a fixed scale (it only grows, so bars compare across frames)`,
  "steal lines: time  source -> target: moved/asked status. The leader saw target with room and source",
  "with a queue, and asked target to take `asked` queued tasks from source; `moved` were moved. partial:",
  "some had started meanwhile; rejected: none could move (a newer leader, or source drained); failed: an error.",
];

/**
 * The demo's live view: on a terminal each frame is drawn over the last (cursor home, each line
 * cleared to its end, the rest of the screen cleared); into a pipe or file frames are appended,
 * as escape codes would only garble them there.
 */
class LiveView {
  private scale = 0;
  private drawn = false;

  constructor(private readonly inPlace: boolean) {}

  draw(agents: AgentView[], steals: StealOperation[], totalSteals: number, finished: number, total: number, elapsedMs: number): void {
    this.scale = barScale(this.scale, Math.max(0, ...agents.map((a) => Math.max(0, a.workload.queued) + Math.max(0, a.workload.running))));
    const lines = [`t=${(elapsedMs / 1000).toFixed(1)}s  finished ${finished}/${total}  (scale: ${this.scale} tasks per bar)`];
    for (const a of agents) {
      const bar = loadBar(a.workload.running, a.workload.queued, this.scale, BAR_WIDTH);
      lines.push(
        `${a.id.padEnd(4)} [${a.capabilities.join(",").padEnd(7)}] x${a.concurrency} ` +
          `queued ${String(a.workload.queued).padStart(5)} running ${a.workload.running} done ${String(a.workload.done).padStart(5)} ${bar}`,
      );
    }
    lines.push(`steals so far: ${totalSteals}`);
    for (const op of steals) {
      lines.push(`  ${new Date(op.finishedAt).toISOString().slice(11, 23)}  ${op.source} -> ${op.target}: ${op.taskIds.length}/${op.requested} ${op.status}`);
    }
    lines.push("", ...LEGEND);
    if (!this.inPlace) {
      process.stdout.write(`${lines.join("\n")}\n\n`);
      return;
    }
    // Hide the cursor and clear the screen once; then home, each line cleared to its end, and below.
    const head = this.drawn ? "\x1b[H" : "\x1b[?25l\x1b[2J\x1b[H";
    this.drawn = true;
    process.stdout.write(`${head}${lines.map((l) => `${l}\x1b[K`).join("\n")}\n\x1b[J`);
  }

  /** Shows the cursor again; the last frame stays above the summary. */
  end(): void {
    if (this.drawn) process.stdout.write("\x1b[?25h");
  }
}

await runScript(COMMAND, main);
