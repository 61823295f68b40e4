/**
 * Values at positions 0..size-1 (-Infinity until set) in a segment tree of maxima: the first
 * position from a given one whose value reaches a bound is found in O(log size), and in O(1)
 * when that is the next position, so a walk over a sequence that skips the positions below the
 * bound costs the positions it stops at, not the ones it passes.
 */
export class MaxTree {
  /** Node k's maximum at k (root 1); leaves from `leaves` on, padded with -Infinity. */
  private readonly max: Float64Array;
  private readonly leaves: number;

  constructor(readonly size: number) {
    let leaves = 1;
    while (leaves < size) leaves *= 2;
    this.leaves = leaves;
    this.max = new Float64Array(2 * leaves).fill(-Infinity);
  }

  get(position: number): number {
    return this.max[this.leaves + position]!;
  }

  set(position: number, value: number): void {
    let k = this.leaves + position;
    this.max[k] = value;
    for (k >>= 1; k >= 1; k >>= 1) {
      const left = this.max[2 * k]!;
      const right = this.max[2 * k + 1]!;
      const above = left > right ? left : right;
      if (this.max[k] === above) break;
      this.max[k] = above;
    }
  }

  /** The first position at or after `from` whose value is at least `bound`, or -1. */
  firstAtLeast(from: number, bound: number): number {
    if (from >= this.size) return -1;
    const max = this.max;
    let k = this.leaves + Math.max(0, from);
    // Up to the first subtree at or right of `from` that holds such a value: from a right child,
    // the next subtree to the right starts under an ancestor.
    while (!(max[k]! >= bound)) {
      while ((k & 1) === 1) {
        if (k === 1) return -1;
        k >>= 1;
      }
      k += 1;
    }
    // Down to its leftmost leaf that holds one.
    while (k < this.leaves) {
      k *= 2;
      if (!(max[k]! >= bound)) k += 1;
    }
    return k - this.leaves;
  }
}
