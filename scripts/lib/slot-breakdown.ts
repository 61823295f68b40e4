/**
 * Where a run's makespan went, slot by slot: bench:steal's `--breakdown`. Every slot is busy or
 * idle from the run's start to its end, so
 *
 *   makespan × capacity = work + Σ over slots of (idle + overrun) / speed
 *
 * (capacity = Σ slots / speed, work = Σ task durations at speed 1): dividing each part by the
 * capacity gives what it added to the makespan, and the parts add up to it exactly. The lower
 * bound is the work's part. A slot's runs are rebuilt from the task records as calibrate.ts does
 * (each start takes the slot that freed first).
 */
import { median } from "./stats.js";

/** One run of a task, as recorded (ms, one clock). */
export interface RecordedRun {
  agent: string;
  /** When the task was on `agent` (created there, or moved there). */
  readyAt: number;
  startedAt: number;
  finishedAt: number;
  /** How long it slept on this agent: its duration × the agent's speed. */
  sleepMs: number;
}

export interface BreakdownAgent {
  id: string;
  slots: number;
  /** Multiplies every task's duration: 2 is twice as slow. */
  speed: number;
}

/** Each part in ms of makespan (see the module's comment); they add up to makespanMs. */
export interface Breakdown {
  makespanMs: number;
  /** The tasks' durations: the lower bound when nothing else is lost. */
  workMs: number;
  /** From the run's start to each slot's first start (submitting, the first claims, the first steals). */
  startMs: number;
  /**
   * Between two runs of a slot, while the next task was already on its agent: the claim's round
   * trip (less any overlap of runs beyond the agent's slots).
   */
  claimMs: number;
  /** Between two runs of a slot, while its agent had no task for it (one came later, moved there). */
  starvedMs: number;
  /** A run's recorded time beyond its sleep: the finish's round trip and timer lateness. */
  overrunMs: number;
  /** From each slot's last finish to the run's end. */
  endMs: number;
  /** Per-run medians, ms of wall time: the gap before a run that did not wait for its task, and a run's overrun. */
  medianClaimGapMs: number;
  medianOverrunMs: number;
  /** Each agent's last finish, ms after the run's start, latest first. */
  lastFinishes: Array<{ agent: string; atMs: number; tasks: number }>;
}

/** `origin`: when the run began (the first submit); its end is the last finish. */
export function breakDown(agents: readonly BreakdownAgent[], runs: readonly RecordedRun[], origin: number): Breakdown {
  const end = runs.reduce((latest, r) => Math.max(latest, r.finishedAt), origin);
  const capacity = agents.reduce((sum, a) => sum + a.slots / a.speed, 0);
  const parts = { workMs: 0, startMs: 0, claimMs: 0, starvedMs: 0, overrunMs: 0, endMs: 0 };
  const claimGaps: number[] = [];
  const overruns: number[] = [];
  const lastFinishes: Breakdown["lastFinishes"] = [];
  for (const agent of agents) {
    const ran = runs.filter((r) => r.agent === agent.id).sort((a, b) => a.startedAt - b.startedAt);
    // Per slot, when it last freed: undefined until it ran a task.
    const slots: Array<number | undefined> = Array.from({ length: agent.slots }, () => undefined);
    const weigh = (ms: number) => ms / agent.speed / capacity;
    let lastFinish = -Infinity;
    for (const run of ran) {
      lastFinish = Math.max(lastFinish, run.finishedAt);
      let slot = slots.indexOf(undefined);
      if (slot < 0) slot = slots.reduce<number>((best, at, i) => (at! < slots[best]! ? i : best), 0);
      const freed = slots[slot];
      // Signed, so that the parts still add up when an agent's runs overlap more than its slots
      // (a run counted twice: a retry, or a task run twice): the overlap counts against the gaps.
      const idle = run.startedAt - (freed ?? origin);
      if (freed === undefined) parts.startMs += weigh(idle);
      else {
        const starved = Math.max(0, Math.min(idle, run.readyAt - freed));
        parts.starvedMs += weigh(starved);
        parts.claimMs += weigh(idle - starved);
        if (starved === 0) claimGaps.push(idle);
      }
      const overrun = run.finishedAt - run.startedAt - run.sleepMs;
      overruns.push(overrun);
      parts.overrunMs += weigh(overrun);
      parts.workMs += weigh(run.sleepMs);
      slots[slot] = run.finishedAt;
    }
    for (const freed of slots) parts.endMs += freed === undefined ? weigh(end - origin) : weigh(end - freed);
    lastFinishes.push({ agent: agent.id, atMs: ran.length > 0 ? lastFinish - origin : 0, tasks: ran.length });
  }
  lastFinishes.sort((a, b) => b.atMs - a.atMs);
  return {
    makespanMs: end - origin,
    ...parts,
    medianClaimGapMs: median(claimGaps) ?? 0,
    medianOverrunMs: median(overruns) ?? 0,
    lastFinishes,
  };
}
