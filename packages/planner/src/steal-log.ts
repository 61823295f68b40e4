import type { PlannedDirective } from "@worksteal/protocol";

/** Where record finds a move's drains: its source's and target's before the move, then after it. */
export const BEFORE_SOURCE = 0;
export const BEFORE_TARGET = 1;
export const AFTER_SOURCE = 2;
export const AFTER_TARGET = 3;

/**
 * The moves of a round, in order, folded into directives that name their tasks. Agents are
 * numbered 0..n-1. A move joins the source's last directive when that directive has the same
 * target and no later directive touches either agent: it then commutes with everything in
 * between, so applying the directives in order reproduces exactly the moves that were planned. A
 * directive holds at most `maxPerDirective` moves; more start another.
 *
 * Entries are kept in arrays of numbers, not an object each, and each move's entry and task in
 * two flat arrays, not an array per entry that grows move by move (a round may log thousands of
 * entries): they become directives once, at the end, each list of tasks allocated at its size.
 */
export class StealLog {
  private readonly sources: number[] = [];
  private readonly targets: number[] = [];
  private readonly counts: number[] = [];
  /** Per move, in order: its entry and its task. */
  private readonly moveEntries: number[] = [];
  private readonly moveTaskIds: string[] = [];
  /** Per entry, its drains at BEFORE_SOURCE… AFTER_TARGET of 4 × entry. */
  private readonly drains: number[] = [];
  /** Per agent, its last entry (-1: none). */
  private readonly lastTouch: Int32Array;

  /** `agents`: numbered by their place (their ids are read when directives are made). */
  constructor(
    private readonly agents: ReadonlyArray<{ readonly id: string }>,
    private readonly maxPerDirective: number,
  ) {
    this.lastTouch = new Int32Array(agents.length).fill(-1);
  }

  /**
   * A move of one task from source to target, with its drains in a typed array (BEFORE_SOURCE…
   * AFTER_TARGET): doubles passed to a call that is not inlined are each a heap allocation, and a
   * round may make ten thousand moves.
   */
  record(source: number, target: number, taskId: string, drains: Float64Array): void {
    const last = this.lastTouch[source]!;
    // The source's last entry, when it has this target, no later entry touches either agent, and it has room.
    if (
      last >= 0 &&
      this.sources[last] === source &&
      this.targets[last] === target &&
      this.lastTouch[target] === last &&
      this.counts[last]! < this.maxPerDirective
    ) {
      this.counts[last] = this.counts[last]! + 1;
      this.moveEntries.push(last);
      this.moveTaskIds.push(taskId);
      this.drains[4 * last + AFTER_SOURCE] = drains[AFTER_SOURCE]!;
      this.drains[4 * last + AFTER_TARGET] = drains[AFTER_TARGET]!;
      return;
    }
    const entry = this.sources.length;
    this.sources.push(source);
    this.targets.push(target);
    this.counts.push(1);
    this.moveEntries.push(entry);
    this.moveTaskIds.push(taskId);
    this.drains.push(drains[BEFORE_SOURCE]!, drains[BEFORE_TARGET]!, drains[AFTER_SOURCE]!, drains[AFTER_TARGET]!);
    this.lastTouch[source] = entry;
    this.lastTouch[target] = entry;
  }

  /** The directives, numbered `r<round>-<n>` from 1 in order. */
  directives(strategy: string, round: number): PlannedDirective[] {
    // A round's drains repeat (whole tenths of a second): each text is written once.
    const texts = new Map<number, string>();
    const entries = this.sources.length;
    const taskIds = new Array<string[]>(entries);
    for (let e = 0; e < entries; e += 1) taskIds[e] = new Array<string>(this.counts[e]!);
    // Each entry's tasks in the order of its moves.
    const filled = new Int32Array(entries);
    for (let m = 0; m < this.moveEntries.length; m += 1) {
      const e = this.moveEntries[m]!;
      taskIds[e]![filled[e]!] = this.moveTaskIds[m]!;
      filled[e] = filled[e]! + 1;
    }
    const directives = new Array<PlannedDirective>(entries);
    for (let e = 0; e < entries; e += 1) {
      const source = this.agents[this.sources[e]!]!.id;
      const target = this.agents[this.targets[e]!]!.id;
      const at = 4 * e;
      directives[e] = {
        id: `r${round}-${e + 1}`,
        source,
        target,
        count: this.counts[e]!,
        taskIds: taskIds[e]!,
        reason: `${strategy}: drain ${source} ${secs(this.drains[at + BEFORE_SOURCE]!, texts)}->${secs(this.drains[at + AFTER_SOURCE]!, texts)}, ${target} ${secs(this.drains[at + BEFORE_TARGET]!, texts)}->${secs(this.drains[at + AFTER_TARGET]!, texts)}`,
      };
    }
    return directives;
  }
}

/**
 * `ms` in seconds as toFixed(1) writes them. A round may plan thousands of directives, four drains
 * each, and toFixed converts through a general digit generator: when x × 10 is not near a half
 * (where its rounding error could pick the other neighbour), the nearest tenth is the rounded
 * product, written digit by digit (kept in `texts` by tenths, when given); otherwise (and for
 * negative, huge or non-finite x) toFixed itself.
 */
export function secs(ms: number, texts?: Map<number, string>): string {
  const x = ms / 1000;
  const tenths = Math.round(x * 10);
  if (x >= 0 && tenths <= MAX_EXACT_TENTHS && Math.abs(x * 10 - tenths) < 0.49) {
    let text = texts?.get(tenths);
    if (text === undefined) {
      text = `${Math.floor(tenths / 10)}.${tenths % 10}s`;
      texts?.set(tenths, text);
    }
    return text;
  }
  return `${x.toFixed(1)}s`;
}

/** Up to here x × 10 is off by far less than 0.01 (its ulp is 2^-12 at most), and toFixed writes no exponent. */
const MAX_EXACT_TENTHS = 2 ** 40;
