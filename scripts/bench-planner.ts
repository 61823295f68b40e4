/**
 * Benchmark of the pure planner: `planSteals` timed on synthetic snapshots shaped like the ones
 * the leader builds (coordinator/src/snapshot.ts): every alive or draining agent with its queue
 * counts, and for the busiest agents the strategy may take from (the planner's `needsTail`; two
 * per idle agent, at least 16 and at most 256, as the leader picks them) the newest
 * `maxStealBatch × 4` of their queued tasks (the leader's tail length), plus the average duration
 * per type. A snapshot is built per strategy: balanced may read other tails than classic.
 * `--all-tails` gives every such agent its tail, as the leader did before it read the busiest only.
 *
 *   pnpm bench:planner [--fleets 1000x100000,10000x1000000] [--strategies classic,balanced]
 *                      [--scenarios skewed,even] [--rounds 7] [--warmup 30] [--seed 42] [--json]
 *
 * Scenarios: `skewed` (a fifth of the agents idle, the backlog spread over the others with a
 * heavy tail, so there is much to steal) and `even` (every agent drains at about the same time:
 * a balanced fleet, where a round should find nothing to do, and fast).
 * Each row is one fleet, scenario and strategy: the median and p90 of `rounds` timed rounds
 * after `warmup` untimed ones, on the same snapshot (planSteals does not modify its input), in
 * wall time, and the median CPU time of the process (the figure to trust on a loaded machine).
 *
 * The warm-up is 30 rounds by default: a coordinator plans round after round, so its steady state
 * is what matters, and after a single warm-up round the first row's timed rounds were still being
 * compiled (their CPU time counts the compiler's threads). At 12:53 UTC, load 6.3-6.9, 15 rounds:
 * 1,000 agents skewed `balanced` median 21.0 and 6.9 ms (CPU 14.9 and 11.0) after one warm-up
 * round, 5.4 and 5.4 ms (CPU 5.4 and 5.2) after 30; the 10,000-agent rows, which run the code
 * the rows before them compiled, were the same either way (12.6 and 12.7 ms, 13.0 and 15.4).
 */
import { loadavg } from "node:os";
import { z } from "zod";
import { type AgentView, ConfigSchema, type PlannedDirective, STRATEGIES, type StrategyName } from "@worksteal/protocol";
import { needsTail, planSteals, type PlannerSnapshot, tailLength, type TaskSummary, victimsToRead } from "@worksteal/planner";
import { type ArgsOf, flag, JSON_FLAG, option, runScript } from "./lib/args.js";
import { seededRandom } from "../packages/planner/src/simulator/random.js";
import { describeMachine, printJson } from "./lib/report.js";
import { commaList } from "./lib/simulation-options.js";
import { quantile } from "./lib/stats.js";

const SCENARIOS = ["skewed", "even"] as const;
type Scenario = (typeof SCENARIOS)[number];

const PROFILES: ReadonlyArray<{ share: number; capabilities: string[] }> = [
  { share: 0.6, capabilities: [] },
  { share: 0.25, capabilities: ["ssd"] },
  { share: 0.15, capabilities: ["gpu", "ssd"] },
];
const EVEN_MS = 800;
const TASK_KINDS: ReadonlyArray<{ share: number; type: string; requiredCapabilities: string[]; ms: number }> = [
  { share: 0.55, type: "resize", requiredCapabilities: [], ms: 400 },
  { share: 0.3, type: "index", requiredCapabilities: ["ssd"], ms: 900 },
  { share: 0.1, type: "render", requiredCapabilities: ["gpu"], ms: 3000 },
  { share: 0.05, type: "adhoc", requiredCapabilities: [], ms: 0 },
];

const FleetSchema = z
  .string()
  .regex(/^\d+x\d+$/, "agents x tasks, e.g. 1000x100000")
  .transform((s) => {
    const [agents, tasks] = s.split("x").map(Number);
    return { agents: agents!, tasks: tasks! };
  })
  .pipe(z.object({ agents: z.number().int().min(2).max(100_000), tasks: z.number().int().min(0).max(100_000_000) }));

const COMMAND = {
  name: "bench:planner",
  usage: "pnpm bench:planner",
  summary: "planSteals timed on synthetic snapshots shaped like the leader's: the median and p90 of timed rounds per fleet, scenario and strategy.",
  options: {
    fleets: option(commaList.pipe(z.array(FleetSchema).min(1)), {
      default: "1000x100000,10000x1000000",
      valueName: "LIST",
      help: "agents x queued tasks, comma-separated",
    }),
    strategies: option(commaList.pipe(z.array(z.enum(STRATEGIES)).min(1)), {
      default: STRATEGIES.join(","),
      valueName: "LIST",
      help: "strategies, comma-separated",
    }),
    scenarios: option(commaList.pipe(z.array(z.enum(SCENARIOS)).min(1)), {
      default: SCENARIOS.join(","),
      valueName: "LIST",
      help: "scenarios, comma-separated",
    }),
    rounds: option(z.coerce.number().int().min(1).max(1000), { default: "7", valueName: "N", help: "timed rounds per row" }),
    warmup: option(z.coerce.number().int().min(0).max(1000), { default: "30", valueName: "N", help: "untimed rounds before them" }),
    seed: option(z.coerce.number().int(), { default: "42", valueName: "N", help: "seed of the synthetic fleets" }),
    "all-tails": flag("a tail for every agent the strategy may take from, not only the busiest ones the leader reads"),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

/** The defaults a coordinator runs with. */
const defaults = ConfigSchema.parse({});
const leaderTailLength = tailLength(defaults);

interface Row {
  agents: number;
  tasks: number;
  scenario: Scenario;
  strategy: StrategyName;
  tailTasks: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  /** Median CPU time of the process per round (it includes the garbage collector's threads). */
  cpuMedianMs: number;
  directives: number;
  moved: number;
}

async function main(args: Args): Promise<number> {
  const rows: Row[] = [];
  for (const fleet of args.fleets) {
    for (const scenario of args.scenarios) {
      for (const strategy of args.strategies) {
        const snapshot = syntheticSnapshot(fleet.agents, fleet.tasks, scenario, strategy, args.seed, args["all-tails"]);
        const tailTasks = Object.values(snapshot.tails).reduce((n, t) => n + t.length, 0);
        const row: Row = { ...fleet, scenario, strategy, tailTasks, ...timeRounds(snapshot, strategy, args) };
        rows.push(row);
        if (!args.json) printRow(row, rows.length === 1);
      }
    }
  }
  const machine = `${describeMachine()}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`;
  if (args.json) {
    printJson({
      machine,
      settings: { rounds: args.rounds, warmup: args.warmup, seed: args.seed, tailLength: leaderTailLength, config: plannerSettings(defaults) },
      rows,
    });
  } else {
    console.log(`\n${args.rounds} timed rounds after ${args.warmup} warm-up, seed ${args.seed}, tails of ${leaderTailLength}; ${machine}`);
  }
  return Promise.resolve(0);
}

/** `warmup` untimed rounds, then `rounds` timed ones, on the same snapshot (planSteals does not modify its input). */
function timeRounds(
  snapshot: PlannerSnapshot,
  strategy: StrategyName,
  args: Args,
): Pick<Row, "medianMs" | "p90Ms" | "minMs" | "cpuMedianMs" | "directives" | "moved"> {
  const config = { ...defaults, strategy };
  const times: number[] = [];
  // CPU time too: on a loaded machine the wall time also counts the waits for a core.
  const cpuTimes: number[] = [];
  let plan: PlannedDirective[] = [];
  for (let i = 0; i < args.warmup + args.rounds; i += 1) {
    const cpuStarted = process.cpuUsage();
    const started = performance.now();
    plan = planSteals({ ...snapshot, round: i + 1 }, config);
    const wall = performance.now() - started;
    const cpu = process.cpuUsage(cpuStarted);
    if (i >= args.warmup) {
      times.push(wall);
      cpuTimes.push((cpu.user + cpu.system) / 1000);
    }
  }
  return {
    medianMs: round2(quantile(times, 0.5)!),
    p90Ms: round2(quantile(times, 0.9)!),
    minMs: round2(Math.min(...times)),
    cpuMedianMs: round2(quantile(cpuTimes, 0.5)!),
    directives: plan.length,
    moved: plan.reduce((n, d) => n + d.count, 0),
  };
}

function printRow(r: Row, header: boolean): void {
  if (header) console.log("agents   tasks      scenario  strategy  tail tasks  median ms    p90 ms    min ms  cpu median ms  directives   moved");
  console.log(
    [
      String(r.agents).padEnd(8),
      String(r.tasks).padEnd(10),
      r.scenario.padEnd(9),
      r.strategy.padEnd(9),
      String(r.tailTasks).padStart(10),
      r.medianMs.toFixed(2).padStart(10),
      r.p90Ms.toFixed(2).padStart(9),
      r.minMs.toFixed(2).padStart(9),
      r.cpuMedianMs.toFixed(2).padStart(14),
      String(r.directives).padStart(11),
      String(r.moved).padStart(7),
    ].join(" "),
  );
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function plannerSettings(c: typeof defaults) {
  return { stealThreshold: c.stealThreshold, maxStealBatch: c.maxStealBatch, minTasksToSteal: c.minTasksToSteal };
}

/**
 * A fleet of `agents` (1% draining) holding `tasks` queued tasks. `skewed`: a fifth idle, the
 * rest weighted by a Pareto draw. `even`: queues proportional to slots, within ±2%. Every agent
 * has a history of its own; ad-hoc tasks carry an estimate instead of a type average.
 */
function syntheticSnapshot(agents: number, tasks: number, scenario: Scenario, strategy: StrategyName, seed: number, allTails: boolean): PlannerSnapshot {
  const random = seededRandom(seed);
  const pick = <T extends { share: number }>(items: readonly T[]): T => {
    let x = random();
    for (const item of items) if ((x -= item.share) < 0) return item;
    return items[items.length - 1]!;
  };
  // Even: every task and agent averages EVEN_MS, so drain times differ only by the ±2% of queue lengths.
  const msOf = (kind: (typeof TASK_KINDS)[number]) => (scenario === "even" ? EVEN_MS : kind.ms || 250);
  const width = String(agents - 1).length;
  const fleet = Array.from({ length: agents }, (_, i) => {
    const slots = 1 + Math.floor(random() * 8);
    const weight = scenario === "even" ? slots * (0.98 + 0.04 * random()) : random() < 0.2 ? 0 : slots * Math.pow(1 - random(), -1 / 1.5);
    return { id: `agent-${String(i).padStart(width, "0")}`, slots, weight, capabilities: pick(PROFILES).capabilities };
  });
  const totalWeight = fleet.reduce((n, a) => n + a.weight, 0);
  const tails: Record<string, TaskSummary[]> = {};
  let taskNumber = 0;
  const views = fleet.map((a): AgentView => {
    const queued = totalWeight > 0 ? Math.round((tasks * a.weight) / totalWeight) : 0;
    const running = queued > 0 ? a.slots : 0;
    // Every agent with a queue gets a tail here (the same fleet for every strategy); the strategy's needsTail picks below.
    if (queued >= 1) {
      tails[a.id] = Array.from({ length: Math.min(queued, leaderTailLength) }, () => {
        let kind = pick(TASK_KINDS);
        while (!kind.requiredCapabilities.every((c) => a.capabilities.includes(c))) kind = pick(TASK_KINDS);
        const id = `task-${(taskNumber += 1)}`;
        return kind.ms > 0
          ? { id, type: kind.type, requiredCapabilities: kind.requiredCapabilities }
          : { id, type: kind.type, requiredCapabilities: [], estimatedDurationMs: msOf(kind) };
      });
    }
    return {
      id: a.id,
      capabilities: a.capabilities,
      concurrency: a.slots,
      priority: Math.floor(random() * 3) * 50,
      status: random() < 0.01 ? "draining" : "alive",
      lastHeartbeat: 0,
      workload: {
        queued,
        running,
        done: 100,
        failed: 1,
        stolenIn: 0,
        stolenOut: 0,
        durationSumMs: 100 * (scenario === "even" ? EVEN_MS : 500 + Math.floor(random() * 600)),
        durationCount: 100,
        cpu: running > 0 ? 40 + Math.floor(random() * 60) : Math.floor(random() * 20),
        memoryMb: 256,
        metricsAt: 0,
      },
    };
  });
  const durationsByType = Object.fromEntries(TASK_KINDS.filter((k) => k.ms > 0).map((k) => [k.type, msOf(k)]));
  const config = { ...defaults, strategy };
  const idle = views.filter((v) => v.status === "alive" && v.workload.queued === 0 && v.workload.running < v.concurrency).length;
  const victims = views.filter((v) => needsTail(v, config)).sort((a, b) => b.workload.queued - a.workload.queued);
  const read = new Set((allTails ? victims : victims.slice(0, victimsToRead(idle))).map((v) => v.id));
  for (const view of views) if (!read.has(view.id)) delete tails[view.id];
  return { agents: views, tails, durationsByType, round: 1 };
}

await runScript(COMMAND, main);
