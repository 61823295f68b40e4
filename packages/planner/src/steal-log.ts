import type { StealDraft } from "./types.js";

interface Entry {
  source: number;
  target: number;
  count: number;
  taskIds: string[];
  beforeSource: number;
  beforeTarget: number;
  afterSource: number;
  afterTarget: number;
}

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
 */
export class StealLog {
  private readonly entries: Entry[] = [];
  private readonly lastTouch: Array<number | undefined>;

  constructor(
    private readonly ids: readonly string[],
    private readonly maxPerDirective: number,
  ) {
    this.lastTouch = ids.map(() => undefined);
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** The target a move from `source` may join, if any. */
  private mergeableTarget(source: number): number | undefined {
    const i = this.lastTouch[source];
    const entry = i === undefined ? undefined : this.entries[i];
    return entry && entry.source === source && this.lastTouch[entry.target] === i && entry.count < this.maxPerDirective ? entry.target : undefined;
  }

  /**
   * A move of one task from source to target, with its drains in a typed array (BEFORE_SOURCE…
   * AFTER_TARGET): doubles passed to a call that is not inlined are each a heap allocation, and a
   * round may make ten thousand moves.
   */
  record(source: number, target: number, taskId: string, drains: Float64Array): void {
    const i = this.lastTouch[source];
    const last = i === undefined ? undefined : this.entries[i];
    if (last && this.mergeableTarget(source) === target) {
      last.count += 1;
      last.taskIds.push(taskId);
      last.afterSource = drains[AFTER_SOURCE]!;
      last.afterTarget = drains[AFTER_TARGET]!;
      return;
    }
    this.entries.push({
      source,
      target,
      count: 1,
      taskIds: [taskId],
      beforeSource: drains[BEFORE_SOURCE]!,
      beforeTarget: drains[BEFORE_TARGET]!,
      afterSource: drains[AFTER_SOURCE]!,
      afterTarget: drains[AFTER_TARGET]!,
    });
    this.lastTouch[source] = this.entries.length - 1;
    this.lastTouch[target] = this.entries.length - 1;
  }

  drafts(strategy: string): StealDraft[] {
    // A round's drains repeat (whole tenths of a second): each text is written once.
    const texts = new Map<number, string>();
    return this.entries.map((e) => {
      const source = this.ids[e.source]!;
      const target = this.ids[e.target]!;
      return {
        source,
        target,
        count: e.count,
        taskIds: e.taskIds,
        reason: `${strategy}: drain ${source} ${secs(e.beforeSource, texts)}->${secs(e.afterSource, texts)}, ${target} ${secs(e.beforeTarget, texts)}->${secs(e.afterTarget, texts)}`,
      };
    });
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
