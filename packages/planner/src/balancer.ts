import { canRun } from "./capabilities.js";
import { agentAverageMs, fleetAverageMs, taskDurationMs } from "./durations.js";
import { aliveQueueStates, compareIds, moveTasks, type QueueState } from "./queue-state.js";
import { SortedList } from "./sorted-list.js";
import { StealLog } from "./steal-log.js";
import type { PlannerConfig, PlannerOptions, PlannerSnapshot, TaskSummary } from "./types.js";

interface Node {
  readonly index: number;
  /** Agents with the same capabilities share a group. */
  readonly group: number;
  readonly state: QueueState;
  /** The agent's own average duration, for queued tasks outside the tail and running ones. */
  readonly avgMs: number;
  /**
   * Expected work held, in whole ms. Integer sums are exact, so updating it move by move gives
   * bit for bit what the projected snapshot gives: the next round sees exactly this state.
   */
  work: number;
  /** Expected time to finish everything it holds: work / slots. */
  drain: number;
  /** Per capability group: the newest tail task it can run (null: none), filled lazily. */
  runnable: Array<TaskSummary | null | undefined>;
}

/**
 * The balanced strategy's projected state and its moves (balanced.ts states the rules). A move is
 * one task from the source's tail, projected at once and recorded in the log.
 *
 * Thieves are kept in buckets of equal capabilities and slots, each sorted earliest first: within
 * a bucket every agent would take the same task, and finish it earliest and most eligibly when it
 * drains earliest, so the best thief is the best of the buckets' heads. A move costs
 * O(buckets + agents moved in their buckets + victims it may have unblocked).
 */
export class Balancer {
  readonly log: StealLog;
  private readonly nodes: Node[];
  private readonly groups: Array<ReadonlySet<string>> = [];
  private readonly buckets: Array<SortedList<Node>> = [];
  private readonly bucketOf: Array<SortedList<Node>> = [];
  private readonly duration: (task: TaskSummary) => number;
  private budget: number;

  constructor(
    snapshot: PlannerSnapshot,
    private readonly config: PlannerConfig,
    private readonly options: PlannerOptions,
  ) {
    const fallbackMs = fleetAverageMs(snapshot.agents) ?? options.defaultTaskDurationMs;
    const known = new Map<TaskSummary, number>();
    this.duration = (task) => {
      let ms = known.get(task);
      if (ms === undefined) known.set(task, (ms = Math.round(taskDurationMs(task, snapshot.durationsByType, fallbackMs))));
      return ms;
    };
    const groupIndex = new Map<string, number>();
    const bucketIndex = new Map<string, SortedList<Node>>();
    this.nodes = aliveQueueStates(snapshot).map((state, index): Node => {
      const key = [...state.caps].sort().join("\n");
      let group = groupIndex.get(key);
      if (group === undefined) {
        group = this.groups.push(state.caps) - 1;
        groupIndex.set(key, group);
      }
      const avgMs = Math.round(agentAverageMs(state.view.workload) ?? fallbackMs);
      let work = (state.queued - state.tail.length + state.running) * avgMs;
      for (const task of state.tail) work += this.duration(task);
      const node: Node = { index, group, state, avgMs, work, drain: work / state.slots, runnable: [] };
      let bucket = bucketIndex.get(`${group} ${state.slots}`);
      if (!bucket) {
        bucket = new SortedList<Node>(earliestFirst);
        bucketIndex.set(`${group} ${state.slots}`, bucket);
        this.buckets.push(bucket);
      }
      bucket.insert(node);
      this.bucketOf[index] = bucket;
      return node;
    });
    this.log = new StealLog(
      this.nodes.map((n) => n.state.id),
      config.maxStealBatch,
    );
    // Each move lowers the multiset of drain times, so the greedy ends; this only bounds pathological cases.
    this.budget = 4 * this.nodes.reduce((n, x) => n + x.state.tail.length, 0) + this.nodes.length;
  }

  /** Drain time of every alive agent, in id order. */
  drains(): number[] {
    return this.nodes.map((n) => n.drain);
  }

  private canGive(n: Node): boolean {
    const s = n.state;
    return s.tail.length > 0 && s.queued >= this.config.minTasksToSteal && s.queued + s.running > s.slots;
  }

  /**
   * Is moving v's next task for t (v's newest tail task that t can run, as the executor picks)
   * worth it? Returns t's drain once it holds the task, or undefined. The margin is the
   * hysteresis that keeps tasks where they are unless v is clearly behind.
   */
  private eligible(v: Node, t: Node): { finish: number; dv: number; dt: number } | undefined {
    if (v === t || !(t.drain < v.drain) || !this.canGive(v)) return undefined;
    const task = this.taskFor(v, t.group);
    if (!task) return undefined;
    const ms = this.duration(task);
    const dv = ms / v.state.slots;
    const dt = ms / t.state.slots;
    const finish = t.drain + dt;
    const gain = v.drain - Math.max(v.drain - dv, finish);
    const ok = gain > this.options.marginTaskFraction * Math.min(dv, dt) && v.drain - finish > this.options.marginFraction * v.drain;
    return ok ? { finish, dv, dt } : undefined;
  }

  /** The eligible thief that would finish v's task earliest (ties: earlier, priority, cpu, id). */
  private bestThief(v: Node): Node | undefined {
    let best: { node: Node; finish: number } | undefined;
    for (const bucket of this.buckets) {
      const [head, second] = bucket.values();
      const t = head === v ? second : head;
      const move = t && this.eligible(v, t);
      if (t && move && (!best || move.finish < best.finish || (move.finish === best.finish && earliestFirst(t, best.node) < 0))) {
        best = { node: t, finish: move.finish };
      }
    }
    return best?.node;
  }

  /** Moves one task and projects it. False when the move budget is spent. */
  private move(v: Node, t: Node): boolean {
    if (this.budget <= 0) return false;
    this.budget -= 1;
    const before = { source: v.drain, target: t.drain };
    this.bucketOf[v.index]!.remove(v);
    this.bucketOf[t.index]!.remove(t);
    const [task] = moveTasks(v.state, t.state, 1);
    const ms = this.duration(task!);
    v.work -= ms;
    t.work += ms;
    v.drain = v.work / v.state.slots;
    t.drain = t.work / t.state.slots;
    v.runnable = [];
    t.runnable = [];
    this.bucketOf[v.index]!.insert(v);
    this.bucketOf[t.index]!.insert(t);
    this.log.record(v.index, t.index, before, { source: v.drain, target: t.drain });
    return true;
  }

  /**
   * The greedy to a fixed point: the latest-draining victim gives its next task to the thief that
   * would finish it earliest, until no eligible move is left anywhere.
   */
  run(): void {
    const victims = new SortedList<Node>(latestFirst);
    const stuck = new Set<Node>();
    for (const n of this.nodes) if (this.canGive(n)) victims.insert(n);
    for (let v = victims.first(); v; v = victims.first()) {
      const t = this.bestThief(v);
      if (!t) {
        victims.remove(v);
        stuck.add(v);
        continue;
      }
      victims.remove(v);
      victims.remove(t);
      if (!this.move(v, t)) return;
      if (this.canGive(v)) victims.insert(v);
      // t changed as a victim; v, now earlier, changed as a thief: only victims stuck for want
      // of a thief can have been unblocked, and only by v.
      stuck.delete(t);
      if (this.canGive(t)) victims.insert(t);
      for (const x of stuck) {
        if (this.eligible(x, v)) {
          stuck.delete(x);
          victims.insert(x);
        }
      }
    }
  }

  /**
   * Moves towards target drain times (from a trial run), victim by victim and thief by thief, so
   * that each pair gets one directive instead of interleaved single moves. Every move is eligible.
   */
  fillTowards(targets: readonly number[]): void {
    const target = (n: Node) => targets[n.index] ?? n.drain;
    const victims = this.nodes.filter((n) => target(n) < n.drain).sort(latestFirst);
    const thieves = this.nodes.filter((n) => target(n) > n.drain).sort(earliestFirst);
    for (const v of victims) {
      for (const t of thieves) {
        for (;;) {
          const move = this.eligible(v, t);
          if (!move || move.finish > target(t) + move.dt / 2 || v.drain - move.dv < target(v) - move.dv / 2) break;
          if (!this.move(v, t)) return;
        }
      }
    }
  }

  private taskFor(v: Node, group: number): TaskSummary | undefined {
    let task = v.runnable[group];
    if (task === undefined) {
      const caps = this.groups[group]!;
      task = v.state.tail.find((x) => canRun(caps, x.requiredCapabilities)) ?? null;
      v.runnable[group] = task;
    }
    return task ?? undefined;
  }
}

function latestFirst(a: Node, b: Node): number {
  return b.drain - a.drain || compareIds(a.state.id, b.state.id);
}

/** Thieves: earlier first, then higher priority, lower cpu, id. */
function earliestFirst(a: Node, b: Node): number {
  const va = a.state.view;
  const vb = b.state.view;
  return a.drain - b.drain || vb.priority - va.priority || va.workload.cpu - vb.workload.cpu || compareIds(va.id, vb.id);
}
