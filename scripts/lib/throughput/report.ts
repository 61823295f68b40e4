/** bench:throughput's summary: medians per mode, ratios to the BullMQ baseline of the same run, and its table. */
import { median, ratio } from "../stats.js";
import { type Cost, MODE_DESCRIPTIONS, type Mode, type RunFigures, type Step } from "./run.js";

export interface ModeSummary {
  mode: Mode;
  /** Every run's tasks/s, in the order run. */
  runs: number[];
  tasksPerSecond: number;
  commandsPerTask: number;
  redisCpuUsPerTask: number;
  redisReadsPerTask: number;
  nodeCpuUsPerTask: number;
  /** From the run of median throughput. */
  nodeCpuUsPerTaskBy: Record<string, number>;
  commandsByName: Record<string, number>;
  /** Against `baseline` (tasks/s: worksteal ÷ BullMQ, so higher is better; costs: worksteal ÷ BullMQ, lower is better). */
  baseline: Mode | null;
  vsBaseline: { tasksPerSecond: number; commandsPerTask: number; redisCpuUsPerTask: number; nodeCpuUsPerTask: number } | null;
}

/** Which BullMQ mode each worksteal mode is held against. */
const BASELINE: Partial<Record<Mode, Mode>> = {
  "ws-single": "bullmq-add",
  "ws-named": "bullmq-add",
  "ws-bulk": "bullmq-addBulk",
  // What BullMQ's priorities alone cost, as every worksteal job has one.
  "bullmq-add-prioritized": "bullmq-add",
};

export function summarise(modes: readonly Mode[], runs: RunFigures[]): ModeSummary[] {
  const summaries = modes.map((mode): ModeSummary => {
    const mine = runs.filter((r) => r.mode === mode);
    const middle = median(mine.map((r) => r.tasksPerSecond))!;
    const typical = mine.find((r) => r.tasksPerSecond === middle)!;
    const of = (pick: (r: RunFigures) => number) => median(mine.map(pick))!;
    return {
      mode,
      runs: mine.map((r) => r.tasksPerSecond),
      tasksPerSecond: middle,
      commandsPerTask: of((r) => r.commandsPerTask),
      redisCpuUsPerTask: of((r) => r.redisCpuUsPerTask),
      redisReadsPerTask: of((r) => r.redisReadsPerTask),
      nodeCpuUsPerTask: of((r) => r.nodeCpuUsPerTask),
      nodeCpuUsPerTaskBy: typical.nodeCpuUsPerTaskBy,
      commandsByName: typical.commandsByName,
      baseline: null,
      vsBaseline: null,
    };
  });
  for (const summary of summaries) {
    const base = summaries.find((s) => s.mode === BASELINE[summary.mode]);
    if (!base) continue;
    summary.baseline = base.mode;
    summary.vsBaseline = {
      tasksPerSecond: ratio(summary.tasksPerSecond, base.tasksPerSecond),
      commandsPerTask: ratio(summary.commandsPerTask, base.commandsPerTask),
      redisCpuUsPerTask: ratio(summary.redisCpuUsPerTask, base.redisCpuUsPerTask),
      nodeCpuUsPerTask: ratio(summary.nodeCpuUsPerTask, base.nodeCpuUsPerTask),
    };
  }
  return summaries;
}

const TOP_COMMANDS = 8;

function topCommands(cost: Pick<Cost, "commandsByName">): string {
  return Object.entries(cost.commandsByName)
    .slice(0, TOP_COMMANDS)
    .map(([name, calls]) => `${name} ${calls}`)
    .join(", ");
}

export function printTable(header: string[], summaries: ModeSummary[], steps: Array<{ mode: Mode; steps: Step[] }>, scriptSteps: Step[]): void {
  for (const line of header) console.log(line);
  console.log("");
  console.log("mode                    tasks/s   vs base  cmds/task  vs base  redis µs/task  vs base  node µs/task  vs base  runs (tasks/s)");
  const x = (r: number | undefined) => (r === undefined ? "-" : `${r.toFixed(2)}`);
  for (const s of summaries) {
    const v = s.vsBaseline;
    console.log(
      [
        s.mode.padEnd(22),
        String(s.tasksPerSecond).padStart(8),
        x(v?.tasksPerSecond).padStart(8),
        s.commandsPerTask.toFixed(1).padStart(10),
        x(v?.commandsPerTask).padStart(7),
        String(s.redisCpuUsPerTask).padStart(14),
        x(v?.redisCpuUsPerTask).padStart(7),
        String(s.nodeCpuUsPerTask).padStart(13),
        x(v?.nodeCpuUsPerTask).padStart(7),
        ` ${s.runs.join(", ")}`,
      ].join(" "),
    );
  }
  console.log("");
  console.log("vs base: ÷ BullMQ in this run (ws-single, ws-named and bullmq-add-prioritized against bullmq-add, ws-bulk against bullmq-addBulk).");
  console.log("");
  console.log("commands per task (the run of median throughput), Redis socket reads per task (median) and node µs per task by process group:");
  for (const s of summaries) {
    const by = Object.entries(s.nodeCpuUsPerTaskBy)
      .map(([name, us]) => `${name} ${us}`)
      .join(", ");
    console.log(`  ${s.mode.padEnd(15)} ${topCommands(s)}  | reads ${s.redisReadsPerTask} | node: ${by}`);
  }
  printScriptSteps(scriptSteps);
  if (steps.length === 0) return;
  console.log("");
  console.log("per lifecycle step (one staged run: workers and coordinators paused while submitting, then let go one kind at a time):");
  console.log("  mode             step                        cmds/task  reads/task  redis µs/task  node µs/task  top commands per task");
  for (const { mode, steps: list } of steps) {
    for (const step of list) {
      console.log(
        `  ${mode.padEnd(15)}  ${step.step.padEnd(26)} ${step.commandsPerTask.toFixed(1).padStart(9)}  ${step.redisReadsPerTask.toFixed(2).padStart(10)}  ${String(step.redisCpuUsPerTask).padStart(13)}  ${String(step.nodeCpuUsPerTask).padStart(12)}  ${topCommands(step)}`,
      );
    }
  }
  console.log("");
  for (const [mode, text] of Object.entries(MODE_DESCRIPTIONS)) console.log(`  ${mode.padEnd(15)} ${text}`);
}

function printScriptSteps(steps: Step[]): void {
  if (steps.length === 0) return;
  console.log("");
  console.log(
    "worksteal's own scripts alone, per task and lifecycle step (store calls, the submit's BullMQ job added inside its script, no worker; each step measured on its own):",
  );
  console.log("  step                    cmds/task  redis µs/task  commands per task");
  for (const step of steps) {
    console.log(
      `  ${step.step.padEnd(22)} ${step.commandsPerTask.toFixed(2).padStart(9)}  ${String(step.redisCpuUsPerTask).padStart(13)}  ${Object.entries(
        step.commandsByName,
      )
        .map(([name, calls]) => `${name} ${calls}`)
        .join(", ")}`,
    );
  }
  const total = steps.reduce((n, s) => n + s.commandsPerTask, 0);
  console.log(`  ${"total".padEnd(22)} ${total.toFixed(2).padStart(9)}`);
}
