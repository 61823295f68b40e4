import { MaxTree } from "./max-tree.js";

/**
 * The thieves of a fill (Balancer.fill) by their place in its order, earliest first as it began,
 * and which of them a victim's walk stops at. A thief that can take no more is dropped. When the
 * fill takes a victim's largest task for a thief's group or nothing (levels, no raised
 * priority), it also knows per thief the largest task it could take without ending past its
 * target by more than half of that task, in a MaxTree per capability group: the walk then stops
 * only at thieves with room for the victim's largest task for their group. Without it, every
 * victim looked at every thief with room for the shortest task of any tail, most only to pass
 * over them (at 10,000 agents, 150,000 looks for 10,000 moves).
 */
export class FillThieves {
  /** One tree per capability group, or a single one for every thief (`byGroup` undefined). */
  private readonly trees: MaxTree[];
  /** Per place: its tree. */
  private readonly treeOf: Int32Array;

  /**
   * `byGroup`: per place, the thief's capability group, when walks stop only where the victim's
   * largest task fits. Every thief is dropped until kept.
   */
  constructor(
    count: number,
    private readonly byGroup: { groupOf: Int32Array; groups: number } | undefined,
  ) {
    this.treeOf = byGroup ? byGroup.groupOf : new Int32Array(count);
    this.trees = Array.from({ length: byGroup ? byGroup.groups : 1 }, () => new MaxTree(count));
  }

  /** The thief at `place` may take tasks up to `largestMs` (read only when walks stop by group). */
  keep(place: number, largestMs: number): void {
    this.trees[this.treeOf[place]!]!.set(place, this.byGroup ? largestMs : 0);
  }

  /** The thief at `place` takes nothing more in this fill. */
  drop(place: number): void {
    this.trees[this.treeOf[place]!]!.set(place, -Infinity);
  }

  /**
   * The place of the first thief at or after `from` that is not dropped (by group: and has room
   * for `largest[g]`, the victim's largest task for its group g; -1 there: none), or -1.
   */
  next(from: number, largest: Float64Array): number {
    if (!this.byGroup) return this.trees[0]!.firstAtLeast(from, -Number.MAX_VALUE);
    let first = -1;
    for (let g = 0; g < this.trees.length; g += 1) {
      if (!(largest[g]! >= 0)) continue;
      const place = this.trees[g]!.firstAtLeast(from, largest[g]!);
      if (place >= 0 && (first < 0 || place < first)) first = place;
    }
    return first;
  }
}
