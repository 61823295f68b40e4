import { IndexedHeap } from "./indexed-heap.js";
import { aliveQueueStates, compareIds, moveTasks, runnableCount, type QueueState } from "./queue-state.js";
import type { PlannedDirective } from "@worksteal/protocol";
import type { PlannerConfig, PlannerOptions, PlannerSnapshot } from "./types.js";

/**
 * The original coordinator's strategy: thresholds on task count and cpu, a weighted target score,
 * half the difference stolen. Kept so that users who tuned it can compare and keep it, minus its
 * defects: every score term lies in [0,1]; a target that can run none of the source's stealable
 * tail is never chosen (6); a count of 0 plans nothing (8); thresholds are options (5); counts are
 * projected after every directive so the same idle target is not handed out twice (4) and the
 * caller's projected loads are not overwritten (3). Each overloaded source gives to at most one
 * target per round, as in the original.
 *
 * Capability match is the share of the source's stealable tail that the target can run. It ranks
 * targets, but the score cut-off judges a target as if it could run the whole tail: one that can
 * run some of it is not turned away because most of the newest tasks need what it lacks; it takes
 * the ones it can.
 *
 * Cost: targets are indexed by capabilities and task count (underloaded agents hold few tasks),
 * each index entry ordered by priority, so a source looks at one target per (capabilities, task
 * count) instead of at every agent.
 */
export function planClassic(snapshot: PlannerSnapshot, config: PlannerConfig, options: PlannerOptions): PlannedDirective[] {
  const overloadedAt = (count: number, cpu: number) => count > options.overloadedTaskCount || cpu > options.overloadedCpu;
  const underloadedAt = (count: number, cpu: number) => count < options.underloadedTaskCount && cpu < options.underloadedCpu;
  const overloaded = (s: QueueState) => overloadedAt(taskCount(s), cpu(s));
  const underloaded = (s: QueueState) => underloadedAt(taskCount(s), cpu(s));
  // Only sources that can give and targets take part: an agent neither under- nor overloaded
  // never does, nor does a source without minTasksToSteal queued or without a tail (it gives
  // nothing, and an overloaded agent is never underloaded, so it never becomes a target).
  const states = aliveQueueStates(snapshot, (view, tail, queued, running) => {
    const count = queued + running;
    const load = view.workload.cpu;
    return underloadedAt(count, load) || (overloadedAt(count, load) && queued >= config.minTasksToSteal && tail.length > 0);
  });

  const sources = states.filter(overloaded).sort((a, b) => taskCount(b) - taskCount(a) || compareIds(a.id, b.id));
  const waiting = new Set(sources);
  // A source yet to give is no target: it would then give what it received, moving a task twice.
  const targets = new TargetIndex(states.length);
  states.forEach((s, i) => {
    if (underloaded(s) && !waiting.has(s)) targets.add(s, i);
  });
  // Only a source that has given can join the targets: with none to begin with, nothing moves.
  if (targets.size === 0) return [];
  const number = new Map(states.map((s, i) => [s, i]));
  const directives: PlannedDirective[] = [];
  for (const source of sources) {
    waiting.delete(source);
    const best =
      targets.size > 0 && source.queued >= config.minTasksToSteal && source.tail.length > 0 ? bestTarget(source, targets, config, options) : undefined;
    if (best) {
      const target = best.target;
      const before = `${source.id} ${taskCount(source)} tasks (cpu ${cpu(source)}) -> ${target.id} ${taskCount(target)} tasks (cpu ${cpu(target)})`;
      targets.delete(target);
      const taskIds = moveTasks(source, target, best.count).map((t) => t.id);
      if (underloaded(target)) targets.add(target, number.get(target)!);
      directives.push({
        id: `r${snapshot.round}-${directives.length + 1}`,
        source: source.id,
        target: target.id,
        count: taskIds.length,
        taskIds,
        reason: `classic: ${before}, score ${best.score.toFixed(2)}`,
      });
    }
    if (underloaded(source)) targets.add(source, number.get(source)!);
  }
  return directives;
}

function taskCount(s: QueueState): number {
  return s.queued + s.running;
}

function cpu(s: QueueState): number {
  return s.view.workload.cpu;
}

interface Candidate {
  target: QueueState;
  score: number;
  count: number;
}

function bestTarget(source: QueueState, targets: TargetIndex, config: PlannerConfig, options: PlannerOptions): Candidate | undefined {
  let best: Candidate | undefined;
  for (const group of targets.groups()) {
    let runnable: number | undefined;
    for (const bucket of group.buckets.values()) {
      const target = bucket.first();
      if (!target) continue;
      const diff = taskCount(source) - taskCount(target);
      const wanted = Math.min(Math.floor(diff / 2), config.maxStealBatch, source.queued);
      if (diff < config.stealThreshold || wanted <= 0) continue;
      runnable ??= runnableCount(source.tail, group.caps);
      if (runnable === 0) break;
      const loadAndPriority = 0.4 * clamp01(diff / Math.max(taskCount(source), 1)) + 0.1 * clamp01(target.view.priority / 100);
      if (0.4 + loadAndPriority <= options.minTargetScore) continue;
      const candidate = { target, score: 0.4 * (runnable / source.tail.length) + loadAndPriority, count: Math.min(wanted, runnable) };
      if (!best || better(candidate, best)) best = candidate;
    }
  }
  return best;
}

/** Higher score, then fewer tasks, then id. */
function better(a: Candidate, b: Candidate): boolean {
  if (a.score !== b.score) return a.score > b.score;
  const ca = taskCount(a.target);
  const cb = taskCount(b.target);
  if (ca !== cb) return ca < cb;
  return compareIds(a.target.id, b.target.id) < 0;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

interface TargetGroup {
  readonly caps: ReadonlySet<string>;
  /** Per task count: the targets holding that many, highest priority first, then id. */
  readonly buckets: Map<number, IndexedHeap<QueueState>>;
}

/**
 * Underloaded agents by capabilities and task count. Within one entry every target gives the
 * same source the same difference, batch and capability match, so the score orders them by
 * priority alone: the first is the best of the entry.
 */
class TargetIndex {
  /** By capability set: agents with the same capabilities share one (aliveQueueStates). */
  private readonly byCaps = new Map<ReadonlySet<string>, TargetGroup>();
  private readonly numbers = new Map<QueueState, number>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.numbers.size;
  }

  groups(): Iterable<TargetGroup> {
    return this.byCaps.values();
  }

  add(s: QueueState, number: number): void {
    let group = this.byCaps.get(s.caps);
    if (!group) this.byCaps.set(s.caps, (group = { caps: s.caps, buckets: new Map() }));
    let bucket = group.buckets.get(taskCount(s));
    if (!bucket) group.buckets.set(taskCount(s), (bucket = new IndexedHeap<QueueState>(preferred, (x) => this.numbers.get(x)!, this.capacity)));
    this.numbers.set(s, number);
    bucket.insert(s);
  }

  /** Removes s, which must still hold the task count it was added with. */
  delete(s: QueueState): void {
    const group = this.byCaps.get(s.caps);
    const bucket = group?.buckets.get(taskCount(s));
    if (!group || !bucket) return;
    bucket.remove(s);
    this.numbers.delete(s);
    if (bucket.size === 0) group.buckets.delete(taskCount(s));
    if (group.buckets.size === 0) this.byCaps.delete(s.caps);
  }
}

function preferred(a: QueueState, b: QueueState): boolean {
  return a.view.priority !== b.view.priority ? a.view.priority > b.view.priority : compareIds(a.id, b.id) < 0;
}
