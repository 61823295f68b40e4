/**
 * Does the balance simulator agree with the real thing? A few small burst scenarios, each run on
 * real Redis with real agent processes and one coordinator (as `bench:steal` runs them), and in
 * the planner's simulator with the same agents, the same tasks and the same settings. Prints
 * both makespans, their difference, and the tasks moved.
 *
 *   node --conditions=@worksteal/source --import tsx scripts/compare-balance-real.ts [--scenarios LIST] [--strategy balanced] [--interval 250] [--lag 50] [--move-cost 5] [--timer-only] [--seed 42] [--json]
 *
 * The real makespan runs from the first task's creation to the last finish (Redis clock), so it
 * includes submitting the burst; tasks are sleeps, so it measures scheduling, not CPU. Each
 * scenario runs for real twice, without stealing and with it, and each real run is replayed in
 * the simulator with what that run paid beyond the tasks' durations, measured from its own task
 * records and steal records (simulator/calibrate.ts): when each task was created (submitting
 * takes time), each agent's claim (a free slot to a task's start) and finish (its duration's end
 * to its recorded finish) per task, the lag from the leader's gate opening (an agent idle beside a
 * backlog) to the round that plans a directive, and a directive's share of its round's execution. So the steal run's difference is the
 * planner's decisions and the timing of its rounds, not the machine's load. Beside it, the
 * uncalibrated simulator as before: every task arriving at 0, `--lag` and `--move-cost` assumed,
 * and a per-task overhead spread from the no-stealing run's makespan. The simulator plans as the
 * leader does: every stealInterval and on events (an agent idle, a task queued behind busy slots;
 * `--timer-only`: on the timer only), and only while an agent is idle beside a backlog.
 */
import { loadavg } from "node:os";
import { z } from "zod";
import { Client } from "@worksteal/client";
import { ConfigSchema, STRATEGIES } from "@worksteal/protocol";
import { calibrate, type Calibration, withArrivals, withCosts } from "../packages/planner/src/simulator/calibrate.js";
import { simulate } from "../packages/planner/src/simulator/simulate.js";
import type { SimAgent, SimPolicy, SimTask } from "../packages/planner/src/simulator/model.js";
import type { Scenario } from "../packages/planner/src/simulator/scenarios.js";
import { generateTasks } from "../packages/planner/src/simulator/workload.js";
import { type ArgsOf, JSON_FLAG, option, runScript } from "./lib/args.js";
import { scenariosOption, simulationOptions } from "./lib/simulation-options.js";
import { startFleet } from "./lib/fleet.js";
import { readRecordedRun } from "./lib/recorded-run.js";
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
    ...simulationOptions(250, "uncalibrated simulator: "),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

interface Measured {
  claimMs: number;
  finishMs: number;
  /** Submitting: from the first task's creation to the last's. */
  submitMs: number;
  firstEventLagMs: number | undefined;
  eventLagMs: number | undefined;
  moveCostMs: number | undefined;
}

interface Row {
  scenario: string;
  tasks: number;
  realNoStealMs: number;
  /** The no-stealing run replayed with its own measured costs. */
  simNoStealMs: number;
  noStealDifference: number;
  realMakespanMs: number;
  /** The stealing run replayed with its own measured costs. */
  simMakespanMs: number;
  /** (real − simulated) / simulated. */
  difference: number;
  /** The simulator as before: arrivals at 0, assumed lag and move cost, a per-task overhead from the no-stealing run. */
  uncalibratedSimMs: number;
  uncalibratedDifference: number;
  /** Moves (a task moved twice counts twice), from the steal records, and in the replay. */
  realMoves: number;
  simMoves: number;
  /** Tasks that ended on another agent than their first, real and replayed. */
  realMoved: number;
  simMoved: number;
  lost: number;
  measuredNoSteal: Measured;
  measured: Measured;
}

async function main(args: Args): Promise<number> {
  const rows: Row[] = [];
  for (const scenario of REAL_SCENARIOS.filter((s) => args.scenarios.includes(s.name))) {
    const { agents } = scenario;
    const tasks = generateTasks(scenario.streams, args.seed);
    progress(`[${scenario.name}] ${tasks.length} tasks: without stealing, for real...`);
    const none = await runReal(agents, tasks, args, false);
    const noneCalibration = calibrate(agents, tasks, none.recorded);
    const simNone = simulate(withCosts(agents, noneCalibration.costsByAgent), withArrivals(tasks, noneCalibration.arrivalsMs), { kind: "none" });
    progress(`[${scenario.name}] real ${none.makespanMs} ms without stealing, ${Math.round(simNone.makespanMs)} ms replayed; now with ${args.strategy}...`);
    const real = await runReal(agents, tasks, args, true);
    const calibration = calibrate(agents, tasks, real.recorded);
    const sim = simulate(
      withCosts(agents, calibration.costsByAgent),
      withArrivals(tasks, calibration.arrivalsMs),
      stealPolicy(args, calibration.eventLagMs ?? args.lag, calibration.moveCostMs ?? args["move-cost"], calibration.firstEventLagMs),
    );
    const overheadMs = overheadOf(agents, tasks, none.makespanMs);
    const uncalibrated = simulate(
      agents,
      tasks.map((t) => ({ ...t, durationMs: t.durationMs + overheadMs })),
      stealPolicy(args, args.lag, args["move-cost"]),
    );
    rows.push({
      scenario: scenario.name,
      tasks: tasks.length,
      realNoStealMs: none.makespanMs,
      simNoStealMs: Math.round(simNone.makespanMs),
      noStealDifference: ratio(none.makespanMs - simNone.makespanMs, simNone.makespanMs),
      realMakespanMs: real.makespanMs,
      simMakespanMs: Math.round(sim.makespanMs),
      difference: ratio(real.makespanMs - sim.makespanMs, sim.makespanMs),
      uncalibratedSimMs: Math.round(uncalibrated.makespanMs),
      uncalibratedDifference: ratio(real.makespanMs - uncalibrated.makespanMs, uncalibrated.makespanMs),
      realMoves: real.recorded.steals.reduce((sum, s) => sum + s.taskIds.length, 0),
      simMoves: sim.moves,
      realMoved: real.moved,
      simMoved: sim.tasks.filter((t) => t.moves > 0).length,
      lost: real.lost,
      measuredNoSteal: measuredOf(noneCalibration),
      measured: measuredOf(calibration),
    });
    progress(
      `[${scenario.name}] real ${real.makespanMs} ms, replayed ${Math.round(sim.makespanMs)} ms, uncalibrated ${Math.round(uncalibrated.makespanMs)} ms`,
    );
  }
  const machine = `${describeMachine()}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`;
  // Read from the replays' own policy, so that what is printed is what they ran.
  const replayPolicy = stealPolicy(args, args.lag, args["move-cost"]);
  const settings = {
    strategy: args.strategy,
    stealIntervalMs: replayPolicy.stealIntervalMs,
    uncalibratedEventLagMs: replayPolicy.eventLagMs,
    uncalibratedMoveCostMs: replayPolicy.moveCostMs,
    eventRounds: replayPolicy.eventRounds,
    idleGate: replayPolicy.idleGate,
    secondMoments: replayPolicy.secondMoments,
  };
  if (args.json) {
    printJson({ machine, seed: args.seed, settings, rows });
    return 0;
  }
  const table = [
    [
      "scenario",
      "tasks",
      "no steal: real",
      "replayed",
      "diff",
      "steal: real",
      "replayed",
      "diff",
      "uncalibrated",
      "diff",
      "moves real",
      "sim",
      "tasks moved real",
      "sim",
      "lost",
    ],
    ...rows.map((r) => [
      r.scenario,
      String(r.tasks),
      `${r.realNoStealMs}`,
      `${r.simNoStealMs}`,
      percent(r.noStealDifference),
      `${r.realMakespanMs}`,
      `${r.simMakespanMs}`,
      percent(r.difference),
      `${r.uncalibratedSimMs}`,
      percent(r.uncalibratedDifference),
      String(r.realMoves),
      String(r.simMoves),
      String(r.realMoved),
      String(r.simMoved),
      String(r.lost),
    ]),
  ];
  printColumns(table);
  console.log(
    "\nmeasured from each run (no steal / steal), ms: per task claim and finish, submitting; steal run: lag to the first round planning a directive, to later ones, a directive's share of its round",
  );
  printColumns([
    ["scenario", "claim", "finish", "submit", "first lag", "lag", "move"],
    ...rows.map((r) => [
      r.scenario,
      `${r.measuredNoSteal.claimMs} / ${r.measured.claimMs}`,
      `${r.measuredNoSteal.finishMs} / ${r.measured.finishMs}`,
      `${r.measuredNoSteal.submitMs} / ${r.measured.submitMs}`,
      String(r.measured.firstEventLagMs ?? "-"),
      String(r.measured.eventLagMs ?? "-"),
      String(r.measured.moveCostMs ?? "-"),
    ]),
  ]);
  console.log(`\nseed ${args.seed}, ${JSON.stringify(settings)}; ${machine}`);
  return 0;
}

function stealPolicy(args: Args, eventLagMs: number, moveCostMs: number, firstEventLagMs?: number): Extract<SimPolicy, { kind: "steal" }> {
  return {
    kind: "steal",
    config: { ...ConfigSchema.parse({}), strategy: args.strategy },
    stealIntervalMs: args.interval,
    eventLagMs,
    firstEventLagMs,
    moveCostMs,
    eventRounds: !args["timer-only"],
    idleGate: true,
    // As the leader reads workloads: with their squares of run times (durationSqSum).
    secondMoments: true,
  };
}

function measuredOf(calibration: Calibration): Measured {
  const round1 = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 10) / 10);
  return {
    claimMs: round1(calibration.costs.claimMs)!,
    finishMs: round1(calibration.costs.finishMs)!,
    submitMs: Math.max(...calibration.arrivalsMs.values()),
    firstEventLagMs: round1(calibration.firstEventLagMs),
    eventLagMs: round1(calibration.eventLagMs),
    moveCostMs: round1(calibration.moveCostMs),
  };
}

const percent = (share: number) => `${share >= 0 ? "+" : ""}${(100 * share).toFixed(1)}%`;

function printColumns(rows: readonly string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join("  "));
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
    return {
      makespanMs: outcome.makespanMs,
      moved: outcome.moved,
      lost: outcome.lost,
      recorded: await readRecordedRun(
        fleet.redis,
        namespace,
        tasks.map((t) => t.id),
      ),
    };
  } finally {
    await fleet.stop();
  }
}

await runScript(COMMAND, main);
