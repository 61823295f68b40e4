import { countRecentSteals, readStatus, readSteals, type Status } from "@worksteal/store";
import type { StealOperation } from "@worksteal/protocol";
import { BAR_LEGEND, barScale, loadBar } from "../bars.js";
import { EXIT, type CommandContext } from "../context.js";
import { formatTime } from "../format.js";
import { formatTable } from "../table.js";
import { leaseSummary, replicaSummary } from "./leader.js";

export const DEFAULT_WATCH_INTERVAL_S = 1;
/** The steal rate is counted over this window. */
const RATE_WINDOW_MS = 60_000;
const RECENT_STEALS = 5;
const BAR_WIDTH = 30;

/** ANSI: hide and show the cursor, go home, clear to the end of the line and of the screen. */
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
const HOME = "\x1b[H";
const CLEAR_LINE = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";
const CLEAR_SCREEN = "\x1b[2J";

/** One frame's figures: what `watch --json` prints. */
export interface WatchFrame {
  status: Status;
  stealsLastMinute: number;
  recentSteals: StealOperation[];
}

async function readFrame(ctx: CommandContext): Promise<WatchFrame> {
  const status = await readStatus(ctx.store, ctx.config.agentTtlMs);
  const [stealsLastMinute, recent] = await Promise.all([countRecentSteals(ctx.store, status.now, RATE_WINDOW_MS), readSteals(ctx.store, RECENT_STEALS)]);
  return { status, stealsLastMinute, recentSteals: recent.steals };
}

/** The frame as lines; `scale` is the bars' scale in tasks. */
export function frameLines(frame: WatchFrame, scale: number, intervalMs: number): string[] {
  const s = frame.status;
  const roles = Object.entries(s.leader.roles).map(([id, role]) => ({ id, role }));
  const lines = [
    `worksteal watch · namespace ${s.namespace} · ${formatTime(s.now)} · every ${intervalMs / 1000}s · q quits`,
    `leader  ${leaseSummary(s.leader.lease, s.leader.fence)}; ${replicaSummary(roles, s.leader.lease)}`,
    `tasks   ${s.tasks.queued} queued, ${s.tasks.running} running, ${s.tasks.done} done, ${s.tasks.failed} failed, ${s.tasks.cancelled} cancelled; ${s.tasks.unassigned} unassigned, ${s.tasks.delayed} delayed`,
    `steals  ${frame.stealsLastMinute} in the last minute (${s.steals} recorded)`,
    "",
  ];
  if (s.agents.length === 0) lines.push("no agents registered");
  else {
    const table = formatTable(
      ["AGENT", "STATUS", "SLOTS", "RUN", "QUEUED", `LOAD (scale ${scale}: ${BAR_LEGEND})`],
      s.agents.map((a) => [
        a.id,
        a.status,
        a.concurrency,
        a.workload.running,
        a.workload.queued,
        loadBar(a.workload.running, a.workload.queued, scale, BAR_WIDTH),
      ]),
    );
    lines.push(...table.split("\n"));
  }
  if (frame.recentSteals.length > 0) {
    lines.push("", "recent steals (source → target: tasks moved of those asked, why)");
    for (const op of frame.recentSteals) {
      lines.push(`  ${formatTime(op.finishedAt).slice(11)}  ${op.source} → ${op.target}: ${op.taskIds.length}/${op.requested} ${op.status}; ${op.reason}`);
    }
  }
  return lines;
}

const largestLoad = (frame: WatchFrame) => Math.max(0, ...frame.status.agents.map((a) => Math.max(0, a.workload.running) + Math.max(0, a.workload.queued)));

/**
 * Redraws the view in place every `intervalMs` until q, Ctrl-C or an interrupt. Without a
 * terminal (a pipe, a test), or with --json, prints one frame and returns.
 */
export async function runWatch(ctx: CommandContext, intervalMs: number): Promise<number> {
  const terminal = ctx.io.terminal;
  let frame = await readFrame(ctx);
  let scale = barScale(0, largestLoad(frame));
  if (ctx.json || terminal === undefined) {
    ctx.out(ctx.json ? JSON.stringify(frame) : frameLines(frame, scale, intervalMs).join("\n"));
    return EXIT.ok;
  }
  let wake: () => void = () => undefined;
  let stopped = false;
  const stop = () => {
    stopped = true;
    wake();
  };
  const releaseKeys = terminal.onKey((key) => {
    if (key === "q" || key === "Q" || key === "\u0003") stop();
  });
  const releaseInterrupt = ctx.io.onInterrupt?.(stop);
  ctx.io.stdout(HIDE_CURSOR + CLEAR_SCREEN);
  try {
    for (;;) {
      // A terminal that reports no size (0) gets whole lines.
      const width = terminal.columns() || Infinity;
      const text = frameLines(frame, scale, intervalMs)
        .map((line) => (line.length > width ? line.slice(0, width) : line) + CLEAR_LINE)
        .join("\n");
      ctx.io.stdout(HOME + text + "\n" + CLEAR_BELOW);
      await new Promise<void>((resolve) => {
        if (stopped) return resolve();
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (stopped) break;
      frame = await readFrame(ctx);
      scale = barScale(scale, largestLoad(frame));
    }
  } finally {
    releaseKeys();
    releaseInterrupt?.();
    ctx.io.stdout(SHOW_CURSOR);
  }
  return EXIT.ok;
}
