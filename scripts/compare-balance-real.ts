/**
 * Does the balance simulator agree with the real thing? A few small burst scenarios, each run on
 * real Redis with real agent processes and one coordinator (as `bench:steal` runs them), and in
 * the planner's simulator with the same agents, the same tasks and the same settings. Prints
 * both makespans, their difference, and the tasks moved.
 *
 *   node --conditions=@worksteal/source --import tsx scripts/compare-balance-real.ts [--scenarios LIST] [--strategy balanced] [--interval 250] [--lag 50] [--move-cost 5] [--timer-only] [--seed 42] [--json]
 *
 * The real makespan runs from the first task's creation to the last finish (Redis clock), so it
 * includes submitting the burst; tasks are sleeps, so it measures scheduling, not CPU. A real
 * task also costs its agent a claim and a finish round trip that the simulator does not model:
 * each scenario first runs for real without stealing, and the difference to the simulated
 * no-stealing makespan, spread over the tasks of the agent that finished last, is the per-task
 * overhead the simulator then adds to every task of the stealing run. `--lag` is what the
 * simulator assumes for a finished task's duration to reach the leader, `--move-cost` for one
 * directive. The simulator plans as the leader does: every stealInterval and on events (an agent
 * idle, a task queued behind busy slots; `--timer-only`: on the timer only), and only while an
 * agent is idle beside a backlog.
 */
import { loadavg } from "node:os";
import { z } from "zod";
import { Client } from "@worksteal/client";
import { ConfigSchema, STRATEGIES } from "@worksteal/protocol";
import { simulate } from "../packages/planner/src/simulator/simulate.js";
import type { SimAgent, SimTask } from "../packages/planner/src/simulator/model.js";
import type { Scenario } from "../packages/planner/src/simulator/scenarios.js";
import { generateTasks } from "../packages/planner/src/simulator/workload.js";
import { type ArgsOf, JSON_FLAG, option, runScript } from "./lib/args.js";
import { scenariosOption, simulationOptions } from "./lib/simulation-options.js";
import { startFleet } from "./lib/fleet.js";
import { describeMachine, printJson, progress } from "./lib/report.js";
import { ratio } from "./lib/stats.js";
import { waitForAll } from "./lib/wait-for-all.js";

/** Small enough to run for real in seconds: bursts only (the real run submits everything at once). */
const REAL_SCENARIOS: readonly Scenario[] = [
  {
    name: "skewed-burst",
    description: "4 agents × 2 slots; 160 tasks (exponential, mean 100 ms) all submitted to one agent",
    agents: ["a0", "a1", "a2", "a3"].map((id) => ({ id, slots: 2 })),
    streams: [{ type: "job", arrivals: { kind: "burst", count: 160 }, duration: { kind: "exponential", meanMs: 100 }, target: "a0" }],
  },
  {
    name: "bimodal-half",
    description: "4 agents × 1 slot; 80 tasks (50 ms, or 1 s one time in ten) submitted to 2 of them",
    agents: ["a0", "a1", "a2", "a3"].map((id) => ({ id, slots: 1 })),
    streams: [0, 1].map((i) => ({
      type: `job${i}`,
      arrivals: { kind: "burst", count: 40 } as const,
      duration: { kind: "bimodal", shortMs: 50, longMs: 1000, longShare: 0.1 } as const,
      target: `a${i}`,
    })),
  },
  {
    name: "capabilities",
    description: "2 agents × 2 slots and 2 gpu agents × 1 slot; 100 plain tasks (mean 100 ms) on one plain agent, 30 gpu tasks (mean 300 ms) on one gpu agent",
    agents: [
      { id: "a0", slots: 2 },
      { id: "a1", slots: 2 },
      { id: "g0", slots: 1, capabilities: ["gpu"] },
      { id: "g1", slots: 1, capabilities: ["gpu"] },
    ],
    streams: [
      { type: "plain", arrivals: { kind: "burst", count: 100 }, duration: { kind: "exponential", meanMs: 100 }, target: "a0" },
      {
        type: "render",
        arrivals: { kind: "burst", count: 30 },
        duration: { kind: "exponential", meanMs: 300 },
        capabilities: [{ required: ["gpu"], weight: 1 }],
        target: "g0",
      },
    ],
  },
];
const NAMES = REAL_SCENARIOS.map((s) => s.name);

const COMMAND = {
  name: "compare-balance-real",
  usage: "node --conditions=@worksteal/source --import tsx scripts/compare-balance-real.ts",
  summary: "Small burst scenarios on real Redis with real agent processes and in the balance simulator: makespans side by side.",
  options: {
    scenarios: scenariosOption(NAMES),
    strategy: option(z.enum(STRATEGIES), { default: "balanced", valueName: "NAME", help: "the coordinator's strategy" }),
    // The coordinator runs with the same stealInterval; the other settings are the simulator's.
    ...simulationOptions(250, "simulator: "),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

interface Row {
  scenario: string;
  tasks: number;
  /** Measured from the no-stealing runs, added to every simulated task. */
  overheadMs: number;
  realNoStealMs: number;
  realMakespanMs: number;
  simMakespanMs: number;
  /** (real − simulated) / simulated. */
  difference: number;
  realMoved: number;
  simMoved: number;
  lost: number;
}

async function main(args: Args): Promise<number> {
  const rows: Row[] = [];
  for (const scenario of REAL_SCENARIOS.filter((s) => args.scenarios.includes(s.name))) {
    const tasks = generateTasks(scenario.streams, args.seed);
    progress(`[${scenario.name}] ${tasks.length} tasks: without stealing, for real...`);
    const none = await runReal(scenario.agents, tasks, args, false);
    const overheadMs = overheadOf(scenario.agents, tasks, none.makespanMs);
    progress(`[${scenario.name}] real ${none.makespanMs} ms without stealing: ${overheadMs} ms per task more than simulated; now with ${args.strategy}...`);
    const withOverhead = tasks.map((t) => ({ ...t, durationMs: t.durationMs + overheadMs }));
    const sim = simulate(scenario.agents, withOverhead, {
      kind: "steal",
      config: { ...ConfigSchema.parse({}), strategy: args.strategy },
      stealIntervalMs: args.interval,
      eventLagMs: args.lag,
      moveCostMs: args["move-cost"],
      eventRounds: !args["timer-only"],
      idleGate: true,
    });
    const real = await runReal(scenario.agents, tasks, args, true);
    rows.push({
      scenario: scenario.name,
      tasks: tasks.length,
      overheadMs,
      realNoStealMs: none.makespanMs,
      realMakespanMs: real.makespanMs,
      simMakespanMs: sim.makespanMs,
      difference: ratio(real.makespanMs - sim.makespanMs, sim.makespanMs),
      realMoved: real.moved,
      simMoved: sim.moves,
      lost: real.lost,
    });
    progress(`[${scenario.name}] real ${real.makespanMs} ms, simulated ${sim.makespanMs} ms`);
  }
  const machine = `${describeMachine()}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`;
  const settings = {
    strategy: args.strategy,
    stealIntervalMs: args.interval,
    eventLagMs: args.lag,
    moveCostMs: args["move-cost"],
    eventRounds: !args["timer-only"],
    idleGate: true,
  };
  if (args.json) {
    printJson({ machine, seed: args.seed, settings, rows });
    return 0;
  }
  console.log("scenario        tasks  no steal ms  overhead ms  real ms   sim ms  difference  moved real  moved sim  lost");
  for (const r of rows) {
    console.log(
      `${r.scenario.padEnd(14)} ${String(r.tasks).padStart(6)} ${String(r.realNoStealMs).padStart(12)} ${String(r.overheadMs).padStart(12)} ` +
        `${String(r.realMakespanMs).padStart(8)} ${String(Math.round(r.simMakespanMs)).padStart(8)} ` +
        `${(100 * r.difference).toFixed(1).padStart(9)}% ${String(r.realMoved).padStart(11)} ${String(r.simMoved).padStart(10)} ${String(r.lost).padStart(5)}`,
    );
  }
  console.log(`\nseed ${args.seed}, ${JSON.stringify(settings)}; ${machine}`);
  return 0;
}

/**
 * Per-task overhead of the real run: without stealing the agent that finishes last decides the
 * makespan, and it ran its tasks one after another on its slots.
 */
function overheadOf(agents: readonly SimAgent[], tasks: readonly SimTask[], realMs: number): number {
  const sim = simulate(agents, tasks, { kind: "none" });
  const last = sim.tasks.reduce((a, b) => (b.finishedAt > a.finishedAt ? b : a));
  const ran = sim.tasks.filter((t) => t.agent === last.agent).length;
  const slots = agents.find((a) => a.id === last.agent)!.slots;
  return Math.max(0, Math.round(((realMs - sim.makespanMs) * slots) / ran));
}

async function runReal(agents: readonly SimAgent[], tasks: readonly SimTask[], args: Args, stealing: boolean) {
  const namespace = `compare-balance-${process.pid}-${Date.now()}`;
  const fleet = await startFleet({
    namespace,
    // The simulator's speed divides durations; the agent process's multiplies them.
    agents: agents.map((a) => ({ id: a.id, capabilities: [...(a.capabilities ?? [])], concurrency: a.slots, speed: 1 / (a.speed ?? 1) })),
    coordinators: 1,
    env: stealing ? { WORKSTEAL_STEAL_INTERVAL: String(args.interval), WORKSTEAL_STRATEGY: args.strategy } : { WORKSTEAL_ENABLED: "false" },
  });
  try {
    const client = new Client({ config: { redisUrl: fleet.redisUrl, namespace, logLevel: "warn" }, redis: fleet.redis });
    await client.submitMany(
      tasks.map((t) => ({
        id: t.id,
        type: t.type,
        payload: { ms: t.durationMs },
        requiredCapabilities: [...t.requiredCapabilities],
        ...(t.target === undefined ? {} : { agentId: t.target }),
      })),
    );
    const outcome = await waitForAll(
      fleet.redis,
      namespace,
      tasks.map((t) => t.id),
      180_000,
      () => undefined,
    );
    await client.close();
    return { makespanMs: outcome.makespanMs, moved: outcome.moved, lost: outcome.lost };
  } finally {
    await fleet.stop();
  }
}

await runScript(COMMAND, main);
