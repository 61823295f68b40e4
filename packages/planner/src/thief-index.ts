import { IndexedHeap } from "./indexed-heap.js";

/** How many task sizes GroupThieves.timesFor keeps the quotients of. */
const KEPT_SIZES = 8;

/** What the index needs of a thief: when it drains (its bucket says its capacity). */
export interface Thief {
  readonly drain: number;
}

/**
 * The thieves of one capability group: one heap ("bucket") per capacity, earliest first, and
 * beside them, in flat arrays, each bucket's largest capacity and its first thief's drain. A
 * search for the best thief looks at every bucket (near the end of a round they finish a task at
 * about the same time, so no ordering rules most out), but only through these arrays, and
 * weighs a bucket's first thief only when the arrays say it could beat the best so far.
 */
export class GroupThieves<T extends Thief> {
  readonly buckets: Array<IndexedHeap<T>>;
  readonly capacities: Float64Array;
  /** Per bucket: its first thief's drain (Infinity when empty). */
  readonly earliest: Float64Array;

  /** `capacities` and `sizes` (how many thieves it will hold): one per bucket; `positions` is shared by every heap a thief may be in. */
  constructor(capacities: readonly number[], sizes: readonly number[], before: (a: T, b: T) => boolean, numberOf: (x: T) => number, positions: Int32Array) {
    this.buckets = sizes.map((size) => new IndexedHeap<T>(before, numberOf, positions, size));
    this.capacities = Float64Array.from(capacities);
    this.earliest = new Float64Array(capacities.length).fill(Infinity);
    this.staleBuckets = new Uint8Array(capacities.length);
    this.times = Array.from({ length: KEPT_SIZES }, () => new Float64Array(capacities.length));
  }

  /** Drains in the bucket changed and its heap was left as it was: the next restore orders it. */
  stale(slot: number): void {
    this.staleBuckets[slot] = 1;
  }

  /**
   * Orders every stale bucket anew (re-placing its thieves one by one could sift past others
   * that are out of place too) and refreshes every bucket's entry.
   */
  restore(): void {
    for (let slot = 0; slot < this.buckets.length; slot += 1) {
      if (this.staleBuckets[slot] === 1) this.buckets[slot]!.heapify();
      this.staleBuckets[slot] = 0;
    }
    this.rebuild();
  }

  /** Per bucket: 1 when drains of its thieves changed without re-placing them (restore orders it). */
  private readonly staleBuckets: Uint8Array;

  /** The bucket's first thief, or its drain, may have changed. */
  refresh(slot: number): void {
    this.earliest[slot] = this.buckets[slot]!.first()?.drain ?? Infinity;
  }

  /** Every bucket's entry from scratch (after the heaps were filled). */
  rebuild(): void {
    for (let slot = 0; slot < this.buckets.length; slot += 1) this.refresh(slot);
  }

  /**
   * Per bucket: `ms` over its capacity, the time its thieves take to run a task of that size. A
   * search weighs every bucket for a task of v's, and a fleet has few task sizes: the last few
   * sizes' quotients are kept (the same division, so the same doubles) instead of dividing per bucket.
   */
  timesFor(ms: number): Float64Array {
    for (let k = 0; k < this.timeSizes.length; k += 1) if (this.timeSizes[k] === ms) return this.times[k]!;
    const k = this.nextTimes;
    this.nextTimes = (k + 1) % KEPT_SIZES;
    const times = this.times[k]!;
    for (let slot = 0; slot < times.length; slot += 1) times[slot] = ms / this.capacities[slot]!;
    this.timeSizes[k] = ms;
    return times;
  }

  /** timesFor's sizes (NaN: none yet), its quotients per size, and where the next size goes. */
  private readonly timeSizes = new Float64Array(KEPT_SIZES).fill(Number.NaN);
  private readonly times: Float64Array[];
  private nextTimes = 0;

  /** Whether some bucket's first thief drains before `bound`. */
  anyBefore(bound: number): boolean {
    for (let slot = 0; slot < this.earliest.length; slot += 1) if (this.earliest[slot]! < bound) return true;
    return false;
  }
}
