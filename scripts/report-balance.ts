/**
 * Balance quality report: the planner's strategies run in the discrete-event simulator
 * (packages/planner/src/simulator) over a matrix of scenarios, beside the baselines — no
 * stealing, one shared queue every free slot pulls from (ideal pull), and offline LPT (knows
 * every duration; the longest arrived task first) — and the restricted lower bound (per
 * capability set: its work over its slots; the longest task).
 *
 *   pnpm report:balance [--scenarios LIST] [--seed 42] [--seeds 1] [--interval 1000] [--lag 50] [--move-cost 5] [--timer-only] [--no-idle-gate] [--no-second-moments] [--deals 0] [--svg DIR] [--json]
 *
 * Per scenario and policy: makespan over the lower bound, mean and p99 wait (start − arrival),
 * and tasks moved per task: all moves, the fewest that end with as many tasks run on each agent
 * (needed), the rest (excess), and moves of tasks that had moved before (repeat, part of the
 * excess). Then, for `balanced`, the median and worst ratio, its makespan over the shared
 * queue's, its most moves and excess moves per task, and the
 * scenarios where it is behind or tied with `classic`. Rounds run every stealInterval and, unless
 * `--timer-only`, on events (an agent idle, a task queued behind busy slots), and unless
 * `--no-idle-gate` plan only while an agent is idle beside a backlog, as the leader does; and
 * agents' workloads carry the sum of their run times' squares, which `balanced` weighs (how widely
 * durations spread), as the leader reads them, unless `--no-second-moments` (as before they were).
 * Simulated time: the figures are the same on every machine. With `--seeds N` (N > 1), the
 * workloads of N seeds from `--seed` on, and per scenario and policy the median and worst
 * makespan / lower bound over them, its makespan over the shared queue's (median, worst and mean),
 * and its most moves and excess moves per task over the seeds: one seed is one draw, and a heavy
 * tail makes one draw say little.
 *
 * `--deals N` also runs the shared queue on N deals of each workload's durations (the same tasks,
 * durations shuffled within each type and capability set, which nothing a policy reads before a
 * task runs tells apart): per scenario, the makespan / lower bound it can expect on each seed's
 * workload without the luck of one order (median and worst over the seeds), and how far apart
 * two such equally good schedules end on the worst of the seeds (per deal, the largest over the
 * seeds of its makespan over the drawn workload's; median and p90 over the deals) — the noise
 * under a "worst over the seeds" against the shared queue.
 *
 * `--svg DIR` also writes two charts there: balance-ratio.svg (makespan / lower bound per
 * scenario and policy) and balance-backlog.svg (tasks held per agent over time in the first
 * scenario chosen, without stealing and with `balanced`).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { ConfigSchema } from "@worksteal/protocol";
// The simulator is a test and report tool, not part of the planner's published API: imported from source.
import { backlogChart, ratioChart } from "../packages/planner/src/simulator/charts.js";
import { dealtShared } from "../packages/planner/src/simulator/deals.js";
import { backlogOf, type MatrixRow, type MatrixSettings, POLICY_NAMES, runMatrix } from "../packages/planner/src/simulator/matrix.js";
import { type Scenario, SCENARIOS } from "../packages/planner/src/simulator/scenarios.js";
import { type ArgsOf, flag, JSON_FLAG, option, runScript } from "./lib/args.js";
import { printJson } from "./lib/report.js";
import { scenariosOption, simulationOptions } from "./lib/simulation-options.js";
import { maximum, median, quantile, ratio } from "./lib/stats.js";

const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

const COMMAND = {
  name: "report:balance",
  usage: "pnpm report:balance",
  summary: "Simulated makespan / lower bound, waits and moves per task for every scenario under no stealing, classic, balanced and one shared queue.",
  options: {
    scenarios: scenariosOption(SCENARIO_NAMES),
    ...simulationOptions(1000),
    "no-idle-gate": flag("plan in every round, not only while an agent is idle beside a backlog (the leader's gate)"),
    "no-second-moments": flag("agents' workloads carry no squares of their run times (balanced then weighs no spread, as before the leader read them)"),
    seeds: option(z.coerce.number().int().min(1).max(1000), {
      default: "1",
      valueName: "N",
      help: "with N > 1: N seeds from --seed on, summarised per scenario and policy (median and worst)",
    }),
    deals: option(z.coerce.number().int().min(0).max(10_000), {
      default: "0",
      valueName: "N",
      help: "also run the shared queue on N deals of each workload's durations (same tasks, durations in another order): what a policy that does not know durations can expect",
    }),
    svg: option(z.string().min(1).optional(), { valueName: "DIR", help: "also write the SVG charts into this directory" }),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

async function main(args: Args): Promise<number> {
  const { enabled, stealThreshold, maxStealBatch, minTasksToSteal } = ConfigSchema.parse({});
  const settings = {
    seed: args.seed,
    stealIntervalMs: args.interval,
    eventLagMs: args.lag,
    moveCostMs: args["move-cost"],
    eventRounds: !args["timer-only"],
    idleGate: !args["no-idle-gate"],
    secondMoments: !args["no-second-moments"],
    config: { enabled, stealThreshold, maxStealBatch, minTasksToSteal },
  };
  const scenarios = SCENARIOS.filter((s) => args.scenarios.includes(s.name));
  const seeds = Array.from({ length: args.seeds }, (_, i) => settings.seed + i);
  const deals = args.deals > 0 ? summariseDeals(scenarios, seeds, args.deals) : undefined;
  if (args.seeds > 1) return reportSeeds(scenarios, settings, seeds, deals, args.json);
  const rows = runMatrix(scenarios, POLICY_NAMES, settings);
  const summary = summarise(rows);
  const charts = args.svg === undefined ? [] : await writeCharts(args.svg, rows, scenarios[0]!, settings);
  if (args.json) {
    printJson({ settings, rows, summary, charts, ...(deals ? { deals } : {}) });
    return 0;
  }
  printTable(rows);
  console.log(
    `\nbalanced: makespan / lower bound median ${summary.balancedMedianRatio} and worst ${summary.balancedWorstRatio}; ` +
      `over the shared queue's worst ${summary.balancedWorstOverShared}; most moves per task ${summary.balancedMostMovesPerTask} ` +
      `(excess ${summary.balancedMostExcessMovesPerTask}, repeat ${summary.balancedMostRepeatMovesPerTask}); ` +
      `behind classic on: ${summary.behindClassic.join(", ") || "none"}; tied on: ${summary.tiedWithClassic.join(", ") || "none"}`,
  );
  console.log(
    `seed ${settings.seed}, stealInterval ${settings.stealIntervalMs} ms${settings.eventRounds ? " and on events" : ""}` +
      `${settings.idleGate ? ", only while an agent is idle beside a backlog" : ""}` +
      `${settings.secondMoments ? "" : ", no second moments"}, ` +
      `event lag ${settings.eventLagMs} ms, move cost ${settings.moveCostMs} ms, ` +
      `config ${JSON.stringify(settings.config)}`,
  );
  for (const s of scenarios) console.log(`  ${s.name}: ${s.description}`);
  for (const chart of charts) console.log(`wrote ${chart}`);
  if (deals) printDeals(deals, args.deals);
  return 0;
}

/** Per scenario and policy, over `count` seeds: the median and worst makespan / lower bound, and balanced's over the shared queue's. */
function reportSeeds(
  scenarios: readonly Scenario[],
  settings: MatrixSettings,
  seeds: readonly number[],
  deals: DealsSummary[] | undefined,
  json: boolean,
): number {
  const runs = seeds.map((seed) => runMatrix(scenarios, POLICY_NAMES, { ...settings, seed }));
  const summary = scenarios.flatMap((scenario) =>
    POLICY_NAMES.map((policy) => {
      const of = (rows: readonly MatrixRow[], name: string) => rows.find((r) => r.scenario === scenario.name && r.policy === name)!;
      const ratios = runs.map((rows) => of(rows, policy).ratio);
      const overShared = runs.map((rows) => of(rows, policy).makespanMs / of(rows, "shared").makespanMs);
      return {
        scenario: scenario.name,
        policy,
        medianRatio: ratio(median(ratios)!, 1),
        worstRatio: ratio(maximum(ratios)!, 1),
        medianOverShared: ratio(median(overShared)!, 1),
        worstOverShared: ratio(maximum(overShared)!, 1),
        // The mean as well: one seed's draw decides the worst, and the median moves in steps of one.
        meanOverShared: ratio(
          overShared.reduce((sum, r) => sum + r, 0),
          overShared.length,
        ),
        mostMovesPerTask: ratio(maximum(runs.map((rows) => of(rows, policy).movesPerTask))!, 1),
        mostExcessMovesPerTask: ratio(maximum(runs.map((rows) => of(rows, policy).excessMovesPerTask))!, 1),
      };
    }),
  );
  if (json) {
    printJson({ settings, seeds, summary, ...(deals ? { deals } : {}) });
    return 0;
  }
  const header = [
    "scenario",
    "policy",
    "median /bound",
    "worst /bound",
    "median /shared",
    "worst /shared",
    "mean /shared",
    "most moves/task",
    "most excess/task",
  ];
  const cells = summary.map((r) => [
    r.scenario,
    r.policy,
    r.medianRatio.toFixed(3),
    r.worstRatio.toFixed(3),
    r.medianOverShared.toFixed(3),
    r.worstOverShared.toFixed(3),
    r.meanOverShared.toFixed(3),
    r.mostMovesPerTask.toFixed(3),
    r.mostExcessMovesPerTask.toFixed(3),
  ]);
  printColumns(header, cells);
  console.log(
    `\nseeds ${seeds[0]}–${seeds.at(-1)}, stealInterval ${settings.stealIntervalMs} ms${settings.eventRounds ? " and on events" : ""}${settings.idleGate ? ", idle gate" : ""}${settings.secondMoments ? "" : ", no second moments"}`,
  );
  if (deals) printDeals(deals, deals[0]?.deals ?? 0);
  return 0;
}

/** Deals are seeded apart from the workloads: the same `--deals` gives the same figures. */
const DEAL_SEED = 1;

interface DealsSummary {
  scenario: string;
  deals: number;
  /** Per seed, the shared queue's mean makespan / lower bound over the deals: what not knowing durations can expect on that workload. */
  expectedRatioBySeed: number[];
  medianExpectedRatio: number;
  worstExpectedRatio: number;
  /**
   * Per deal, the largest over the seeds of its makespan over the workload's as drawn, summarised:
   * how far apart two equally good schedules (the same pull, durations in another order) end on
   * the worst of these seeds — the noise in a "worst over the seeds" against the shared queue.
   */
  worstOverDrawnMedian: number;
  worstOverDrawnP90: number;
}

function summariseDeals(scenarios: readonly Scenario[], seeds: readonly number[], deals: number): DealsSummary[] {
  return scenarios.map((scenario) => {
    const bySeed = dealtShared(scenario, seeds, deals, DEAL_SEED);
    const expectedRatioBySeed = bySeed.map((s) =>
      ratio(
        s.ratios.reduce((sum, r) => sum + r, 0),
        s.ratios.length,
      ),
    );
    const worstOverDrawn = Array.from({ length: deals }, (_, deal) => maximum(bySeed.map((s) => s.overDrawn[deal]!))!);
    return {
      scenario: scenario.name,
      deals,
      expectedRatioBySeed,
      medianExpectedRatio: median(expectedRatioBySeed)!,
      worstExpectedRatio: maximum(expectedRatioBySeed)!,
      worstOverDrawnMedian: ratio(median(worstOverDrawn)!, 1),
      worstOverDrawnP90: ratio(quantile(worstOverDrawn, 0.9)!, 1),
    };
  });
}

function printDeals(deals: readonly DealsSummary[], count: number): void {
  console.log(`\nthe shared queue on ${count} deals of each workload's durations (the same tasks, durations in another order):`);
  printColumns(
    ["scenario", "policy", "expected /bound, median", "worst", "deal / as drawn, worst over seeds: median", "p90"],
    deals.map((d) => [
      d.scenario,
      "shared",
      d.medianExpectedRatio.toFixed(3),
      d.worstExpectedRatio.toFixed(3),
      d.worstOverDrawnMedian.toFixed(3),
      d.worstOverDrawnP90.toFixed(3),
    ]),
  );
}

async function writeCharts(dir: string, rows: readonly MatrixRow[], scenario: Scenario, settings: MatrixSettings): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const ratioPath = join(dir, "balance-ratio.svg");
  await writeFile(ratioPath, ratioChart(rows, "Makespan / restricted lower bound (1 = the bound)"));
  const sampleEveryMs = settings.stealIntervalMs / 4;
  const panels = (["none", "balanced"] as const).map((policy) => ({
    label: policy === "none" ? "no stealing" : "balanced",
    samples: backlogOf(scenario, policy, settings, sampleEveryMs),
  }));
  const backlogPath = join(dir, "balance-backlog.svg");
  await writeFile(
    backlogPath,
    backlogChart(
      panels,
      scenario.agents.map((a) => a.id),
      `Tasks held per agent (queued + running): ${scenario.name}`,
    ),
  );
  return [ratioPath, backlogPath];
}

function summarise(rows: readonly MatrixRow[]) {
  const of = (policy: string) => rows.filter((r) => r.policy === policy);
  const balanced = of("balanced");
  const makespanOf = (policy: string, scenario: string) => rows.find((r) => r.policy === policy && r.scenario === scenario)!.makespanMs;
  return {
    balancedMedianRatio: ratio(median(balanced.map((r) => r.ratio)) ?? NaN, 1),
    balancedWorstRatio: ratio(maximum(balanced.map((r) => r.ratio)) ?? NaN, 1),
    balancedWorstOverShared: ratio(maximum(balanced.map((r) => r.makespanMs / makespanOf("shared", r.scenario))) ?? NaN, 1),
    balancedMostMovesPerTask: ratio(maximum(balanced.map((r) => r.movesPerTask)) ?? NaN, 1),
    balancedMostExcessMovesPerTask: ratio(maximum(balanced.map((r) => r.excessMovesPerTask)) ?? NaN, 1),
    balancedMostRepeatMovesPerTask: ratio(maximum(balanced.map((r) => r.repeatMovesPerTask)) ?? NaN, 1),
    behindClassic: balanced.filter((r) => r.makespanMs > makespanOf("classic", r.scenario)).map((r) => r.scenario),
    // Equal makespans: at the lower bound neither can be ahead; elsewhere it is a miss.
    tiedWithClassic: balanced
      .filter((r) => r.makespanMs === makespanOf("classic", r.scenario))
      .map((r) => `${r.scenario}${r.makespanMs <= r.lowerBoundMs ? " (at the bound)" : ""}`),
  };
}

function printTable(rows: readonly MatrixRow[]): void {
  const header = [
    "scenario",
    "policy",
    "tasks",
    "bound ms",
    "makespan ms",
    "/bound",
    "mean wait ms",
    "p99 wait ms",
    "moves/task",
    "needed/task",
    "excess/task",
    "repeat/task",
  ];
  const cells = rows.map((r) => [
    r.scenario,
    r.policy,
    String(r.tasks),
    r.lowerBoundMs.toFixed(0),
    r.makespanMs.toFixed(0),
    r.ratio.toFixed(2),
    r.meanWaitMs.toFixed(0),
    r.p99WaitMs.toFixed(0),
    r.movesPerTask.toFixed(3),
    r.neededMovesPerTask.toFixed(3),
    r.excessMovesPerTask.toFixed(3),
    r.repeatMovesPerTask.toFixed(3),
  ]);
  printColumns(header, cells);
}

/** The first two columns (scenario, policy) left-aligned, the figures right-aligned. */
function printColumns(header: readonly string[], cells: readonly string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => c.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join("  ");
  console.log(line(header));
  for (const c of cells) console.log(line(c));
}

await runScript(COMMAND, main);
