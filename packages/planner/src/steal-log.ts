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
 * Entries are kept in typed arrays, not an object each, and each move's entry and task in flat
 * arrays, not an array per entry that grows move by move (a round may log thousands of entries):
 * they become directives once, at the end, each list of tasks allocated at its size. The arrays
 * are sized for the moves the caller expects, and doubled if it makes more.
 */
export class StealLog {
  private entries = 0;
  private sources: Int32Array;
  private targets: Int32Array;
  private counts: Int32Array;
  /** Per entry, its drains at BEFORE_SOURCE… AFTER_TARGET of 4 × entry. */
  private drains: Float64Array;
  private moves = 0;
  /** Per move, in order: its entry and its task. */
  private moveEntries: Int32Array;
  private readonly moveTaskIds: string[];
  /** Per agent, its last entry (-1: none). */
  private readonly lastTouch: Int32Array;

  /** `ids`: the agents' ids, by their numbers. `expectedMoves`: what the arrays are sized for. */
  constructor(
    private readonly ids: readonly string[],
    private readonly maxPerDirective: number,
    expectedMoves = 16,
  ) {
    this.lastTouch = new Int32Array(ids.length).fill(-1);
    const size = Math.max(1, expectedMoves);
    this.sources = new Int32Array(size);
    this.targets = new Int32Array(size);
    this.counts = new Int32Array(size);
    this.drains = new Float64Array(4 * size);
    this.moveEntries = new Int32Array(size);
    this.moveTaskIds = new Array<string>(size);
  }

  /**
   * A move of one task from source to target, with its drains in a typed array (BEFORE_SOURCE…
   * AFTER_TARGET): doubles passed to a call that is not inlined are each a heap allocation, and a
   * round may make ten thousand moves.
   */
  record(source: number, target: number, taskId: string, drains: Float64Array): void {
    if (this.moves === this.moveEntries.length) this.moveEntries = doubled(this.moveEntries);
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
      this.moveEntries[this.moves] = last;
      this.moveTaskIds[this.moves] = taskId;
      this.moves += 1;
      this.drains[4 * last + AFTER_SOURCE] = drains[AFTER_SOURCE]!;
      this.drains[4 * last + AFTER_TARGET] = drains[AFTER_TARGET]!;
      return;
    }
    const entry = this.entries;
    if (entry === this.sources.length) {
      this.sources = doubled(this.sources);
      this.targets = doubled(this.targets);
      this.counts = doubled(this.counts);
      const wider = new Float64Array(2 * this.drains.length);
      wider.set(this.drains);
      this.drains = wider;
    }
    this.entries += 1;
    this.sources[entry] = source;
    this.targets[entry] = target;
    this.counts[entry] = 1;
    this.moveEntries[this.moves] = entry;
    this.moveTaskIds[this.moves] = taskId;
    this.moves += 1;
    for (let k = 0; k < 4; k += 1) this.drains[4 * entry + k] = drains[k]!;
    this.lastTouch[source] = entry;
    this.lastTouch[target] = entry;
  }

  /** The directives, numbered `r<round>-<n>` from 1 in order. */
  directives(strategy: string, round: number): PlannedDirective[] {
    // A round's drains repeat (whole tenths of a second): each text is written once.
    const texts = new Map<number, string>();
    const entries = this.entries;
    const taskIds = new Array<string[]>(entries);
    for (let e = 0; e < entries; e += 1) taskIds[e] = new Array<string>(this.counts[e]!);
    // Each entry's tasks in the order of its moves.
    const filled = new Int32Array(entries);
    for (let m = 0; m < this.moves; m += 1) {
      const e = this.moveEntries[m]!;
      taskIds[e]![filled[e]!] = this.moveTaskIds[m]!;
      filled[e] = filled[e]! + 1;
    }
    const directives = new Array<PlannedDirective>(entries);
    // A source's part of the text is written once per round: a victim gives in many directives
    // (a round at 10,000 agents: 3,000 directives from 256 sources), and fewer parts join faster.
    const asSource = new Map<number, string>();
    const idPrefix = `r${round}-`;
    // Each reason is joined from this one array, its words in place and its drains written anew:
    // an array per directive was a third of the memory its reason allocated.
    const parts = ["", "", "->", "", ", ", "", " ", "", "->", ""];
    let afterSource = Number.NaN;
    for (let e = 0; e < entries; e += 1) {
      const sourceAgent = this.sources[e]!;
      const source = this.ids[sourceAgent]!;
      const target = this.ids[this.targets[e]!]!;
      const at = 4 * e;
      parts[0] = sourcePart(asSource, sourceAgent, strategy, source);
      // A fill's victim gives to one thief after another: its drain before this directive is
      // mostly the one after the last, whose text parts[3] still holds.
      const beforeSource = this.drains[at + BEFORE_SOURCE]!;
      if (beforeSource !== afterSource) parts[1] = secs(beforeSource, texts);
      else parts[1] = parts[3]!;
      afterSource = this.drains[at + AFTER_SOURCE]!;
      parts[3] = secs(afterSource, texts);
      parts[5] = target;
      parts[7] = secs(this.drains[at + BEFORE_TARGET]!, texts);
      parts[9] = secs(this.drains[at + AFTER_TARGET]!, texts);
      directives[e] = {
        id: idPrefix + String(e + 1),
        source,
        target,
        count: this.counts[e]!,
        taskIds: taskIds[e]!,
        // Joined, not concatenated: one flat string of 60-odd characters instead of a tree of a
        // dozen concatenations (four times the memory), which the caller holds past the round.
        reason: parts.join(""),
      };
    }
    return directives;
  }
}

/** "<strategy>: drain <source> ", the start of each of the source's reasons. */
function sourcePart(parts: Map<number, string>, agent: number, strategy: string, source: string): string {
  let part = parts.get(agent);
  if (part === undefined) parts.set(agent, (part = `${strategy}: drain ${source} `));
  return part;
}

function doubled(values: Int32Array): Int32Array {
  const wider = new Int32Array(2 * values.length);
  wider.set(values);
  return wider;
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
