import { IndexedHeap } from "./indexed-heap.js";

/** What the index needs of a thief. */
export interface Thief {
  readonly capacity: number;
  drain: number;
}

/**
 * The thieves of one capability group: one heap ("bucket") per capacity, earliest first, the
 * fastest bucket first, and a tournament tree over the buckets holding, per range of buckets, the
 * earliest first thief and the largest capacity (the range's first bucket's). A thief drains at
 * least the range's earliest and takes a task of `ms` at the range's largest capacity at best, so
 * one look at a range bounds when any of its thieves could finish that task: a search for the
 * best thief passes over whole ranges of buckets instead of looking at every bucket's first.
 */
export class GroupThieves<T extends Thief> {
  readonly buckets: Array<IndexedHeap<T>>;
  /** Leaves of the trees: buckets from `leaves` on, padded to a power of two. */
  readonly leaves: number;
  /** Per tree node (root 1, children 2i and 2i+1): the earliest drain of its buckets' first thieves (Infinity when empty). */
  readonly earliest: Float64Array;
  /** Per tree node: the largest capacity of its buckets (its first bucket's). */
  readonly fastest: Float64Array;

  /** `capacities`: distinct, fastest first; `positions` is shared by every heap a thief may be in. */
  constructor(capacities: readonly number[], before: (a: T, b: T) => boolean, numberOf: (x: T) => number, positions: Int32Array) {
    this.buckets = capacities.map(() => new IndexedHeap<T>(before, numberOf, positions));
    let leaves = 1;
    while (leaves < capacities.length) leaves *= 2;
    this.leaves = leaves;
    this.earliest = new Float64Array(2 * leaves).fill(Infinity);
    this.fastest = new Float64Array(2 * leaves);
    capacities.forEach((c, i) => (this.fastest[leaves + i] = c));
    for (let i = leaves - 1; i >= 1; i -= 1) this.fastest[i] = Math.max(this.fastest[2 * i]!, this.fastest[2 * i + 1]!);
  }

  /** The bucket's first thief may have changed: its leaf and the ranges above it follow. */
  refresh(slot: number): void {
    let i = this.leaves + slot;
    this.earliest[i] = this.buckets[slot]!.first()?.drain ?? Infinity;
    for (i >>= 1; i >= 1; i >>= 1) {
      const earliest = Math.min(this.earliest[2 * i]!, this.earliest[2 * i + 1]!);
      if (this.earliest[i] === earliest) break;
      this.earliest[i] = earliest;
    }
  }

  /** Every bucket's leaf from scratch (after the heaps were filled). */
  rebuild(): void {
    this.buckets.forEach((bucket, slot) => (this.earliest[this.leaves + slot] = bucket.first()?.drain ?? Infinity));
    for (let i = this.leaves - 1; i >= 1; i -= 1) this.earliest[i] = Math.min(this.earliest[2 * i]!, this.earliest[2 * i + 1]!);
  }
}
