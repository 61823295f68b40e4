import { compareNumbers } from "./compare-numbers.js";

/**
 * The drain times a round's moves head for, computed directly instead of by a trial run of the
 * greedy (which moved every task one at a time, with relaying, only to learn its end state).
 *
 * Work is taken as fluid: each agent keeps its fixed work (all but the tail tasks it could give)
 * and the movable work is poured where it finishes earliest, each task only onto agents of the
 * capability groups that can run it. The end state is water-filling with restricted
 * assignment: the set of groups whose confined work (tasks no group outside it can run) gives the
 * highest level fills to that level; it is set aside, with its work, and the rest is filled the same
 * way. Each agent ends at max(its floor, its set's level). Tasks are whole and moves need their
 * margins, so the moves that follow land within about a task of these levels, which is all the
 * fill asks of its targets (it stops half a task short or over).
 *
 * Sets of groups are enumerated: 2^groups of them per step, so a fleet of more than MAX_GROUPS
 * capability groups gets no levels here (the caller falls back to the trial).
 */
export const MAX_GROUPS = 6;

export interface LevelInput {
  /** Per agent: its drain, its drain once it gave every task it could (its floor), its capacity and group. */
  readonly drain: Float64Array;
  readonly floor: Float64Array;
  readonly capacity: Float64Array;
  readonly groupOf: Int32Array;
  readonly groups: number;
  /**
   * Per set of groups (bit g: group g can run it), the movable work of tasks that exactly those
   * groups can run, in ms at speed 1. Set 0 is not read: work no group can run stays in its
   * holder's floor.
   */
  readonly workByGroups: Float64Array;
}

/** Per agent, the drain time the round heads for (see the module's comment). */
export function levelTargets(input: LevelInput): Float64Array {
  const { drain, floor, capacity, groupOf, groups, workByGroups } = input;
  const n = drain.length;
  const targets = Float64Array.from(drain);
  let total = 0;
  for (let mask = 1; mask < workByGroups.length; mask += 1) total += workByGroups[mask]!;
  const byGroup = GroupCurves.of(floor, capacity, groupOf, groups, ceiling(floor, capacity, groupOf, groups, total));
  const all = (1 << groups) - 1;
  let remaining = all;
  while (remaining !== 0) {
    let bestSet = 0;
    let bestLevel = -Infinity;
    // Every non-empty subset of the remaining groups, larger sets after their subsets.
    for (let set = remaining; set !== 0; set = (set - 1) & remaining) {
      let work = 0;
      for (let mask = 1; mask <= all; mask += 1) {
        const reach = mask & remaining;
        if (reach !== 0 && (reach & ~set) === 0) work += workByGroups[mask]!;
      }
      const level = work > 0 ? byGroup.level(set, work) : -Infinity;
      if (level > bestLevel || (level === bestLevel && popCount(set) > popCount(bestSet))) {
        bestLevel = level;
        bestSet = set;
      }
    }
    // No work left for any of them: each gives what it can (to groups set aside before) and
    // keeps the rest.
    if (bestLevel === -Infinity) {
      for (let i = 0; i < n; i += 1) if (((remaining >> groupOf[i]!) & 1) !== 0) targets[i] = floor[i]!;
      break;
    }
    for (let i = 0; i < n; i += 1) {
      if (((bestSet >> groupOf[i]!) & 1) === 0) continue;
      targets[i] = Math.max(floor[i]!, bestLevel);
    }
    remaining &= ~bestSet;
  }
  return targets;
}

/**
 * A level no set of groups rises above: a set holds at most all the work, and holds it at a
 * level no higher than any of its groups alone would. Per group, Newton's method from above on
 * the (convex, piecewise linear) work taken below a level: each step drops the agents whose floor
 * the level fell below, and stops when none is left to drop (or after a few steps, still above
 * the group's level). Agents above it take nothing at any level, so the sort of levelTargets
 * leaves them out: most of a fleet with a backlog.
 */
function ceiling(floor: Float64Array, capacity: Float64Array, groupOf: Int32Array, groups: number, work: number): number {
  // Per group, its agents' floors and capacities, compacted in place as Newton's steps drop agents.
  const counts = new Int32Array(groups + 1);
  for (let i = 0; i < groupOf.length; i += 1) counts[groupOf[i]! + 1] = counts[groupOf[i]! + 1]! + 1;
  for (let g = 0; g < groups; g += 1) counts[g + 1] = counts[g + 1]! + counts[g]!;
  const floors = new Float64Array(floor.length);
  const capacities = new Float64Array(floor.length);
  const filled = counts.slice(0, groups);
  for (let i = 0; i < groupOf.length; i += 1) {
    const at = filled[groupOf[i]!]!;
    floors[at] = floor[i]!;
    capacities[at] = capacity[i]!;
    filled[groupOf[i]!] = at + 1;
  }
  let highest = -Infinity;
  for (let g = 0; g < groups; g += 1) {
    const start = counts[g]!;
    let end = counts[g + 1]!;
    let level = Infinity;
    for (let step = 0; step < NEWTON_STEPS && end > start; step += 1) {
      let c = 0;
      let cf = 0;
      let kept = start;
      for (let k = start; k < end; k += 1) {
        const f = floors[k]!;
        if (!(f < level)) continue;
        c += capacities[k]!;
        cf += capacities[k]! * f;
        floors[kept] = f;
        capacities[kept] = capacities[k]!;
        kept += 1;
      }
      end = kept;
      if (c === 0) break;
      const next = (work + cf) / c;
      if (!(next < level)) break;
      level = next;
    }
    if (level > highest) highest = level;
  }
  // Rounding: a little above.
  return highest + Math.abs(highest) * 1e-9 + 1e-9;
}

const NEWTON_STEPS = 16;

function popCount(x: number): number {
  let n = 0;
  for (let y = x; y !== 0; y &= y - 1) n += 1;
  return n;
}

/**
 * Per group, its agents' floors in ascending order with running sums of capacity and
 * capacity × floor: the work a group takes to rise to level L, Σ capacity × max(0, L − floor), is
 * then a binary search away.
 */
class GroupCurves {
  private constructor(
    private readonly floors: Float64Array[],
    private readonly capacitySums: Float64Array[],
    private readonly weightedSums: Float64Array[],
  ) {}

  /** Only agents with a floor below `below` (no level reaches it: they would take nothing). */
  static of(floor: Float64Array, capacity: Float64Array, groupOf: Int32Array, groups: number, below: number): GroupCurves {
    const counts = new Int32Array(groups);
    for (let i = 0; i < groupOf.length; i += 1) {
      if (!(floor[i]! < below)) continue;
      const g = groupOf[i]!;
      counts[g] = counts[g]! + 1;
    }
    const members = Array.from({ length: groups }, (_, g) => new Int32Array(counts[g]!));
    counts.fill(0);
    for (let i = 0; i < groupOf.length; i += 1) {
      if (!(floor[i]! < below)) continue;
      const g = groupOf[i]!;
      members[g]![counts[g]!] = i;
      counts[g] = counts[g]! + 1;
    }
    const floors: Float64Array[] = [];
    const capacitySums: Float64Array[] = [];
    const weightedSums: Float64Array[] = [];
    for (let g = 0; g < groups; g += 1) {
      const order = members[g]!.sort((a, b) => compareNumbers(floor[a]!, floor[b]!));
      const f = new Float64Array(order.length);
      const c = new Float64Array(order.length + 1);
      const cf = new Float64Array(order.length + 1);
      for (let k = 0; k < order.length; k += 1) {
        const i = order[k]!;
        f[k] = floor[i]!;
        c[k + 1] = c[k]! + capacity[i]!;
        cf[k + 1] = cf[k]! + capacity[i]! * floor[i]!;
      }
      floors.push(f);
      capacitySums.push(c);
      weightedSums.push(cf);
    }
    return new GroupCurves(floors, capacitySums, weightedSums);
  }

  /** The work the set's groups take to rise to `level`. */
  private taken(set: number, level: number): number {
    let work = 0;
    for (let g = 0; g < this.floors.length; g += 1) {
      if (((set >> g) & 1) === 0) continue;
      const f = this.floors[g]!;
      // Agents with a floor below the level: a prefix.
      let lo = 0;
      let hi = f.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (f[mid]! < level) lo = mid + 1;
        else hi = mid;
      }
      work += level * this.capacitySums[g]![lo]! - this.weightedSums[g]![lo]!;
    }
    return work;
  }

  /** The level at which the set's groups hold `work` (> 0) more than their floors: taken() grows with the level, so a bisection finds it. */
  level(set: number, work: number): number {
    let lo = Infinity;
    let highest = -Infinity;
    let capacity = 0;
    for (let g = 0; g < this.floors.length; g += 1) {
      const f = this.floors[g]!;
      if (((set >> g) & 1) === 0 || f.length === 0) continue;
      lo = Math.min(lo, f[0]!);
      highest = Math.max(highest, f[f.length - 1]!);
      capacity += this.capacitySums[g]![f.length]!;
    }
    if (capacity === 0) return -Infinity;
    // At the highest floor plus work / (the set's whole capacity) every agent is below the level, so that takes the work and more.
    let hi = highest + work / capacity;
    for (let step = 0; step < 100 && lo < hi; step += 1) {
      const mid = lo + (hi - lo) / 2;
      if (mid <= lo || mid >= hi) break;
      if (this.taken(set, mid) < work) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}
