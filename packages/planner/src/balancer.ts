import { canRun } from "./capabilities.js";
import { agentAverageMs, fleetAverageMs, taskDurationMs } from "./durations.js";
import { aliveQueueStates, compareIds, moveTasks, type QueueState } from "./queue-state.js";
import { StealLog } from "./steal-log.js";
import type { PlannerConfig, PlannerOptions, PlannerSnapshot, TaskSummary } from "./types.js";

export interface Node {
  readonly index: number;
  /** Agents with the same capabilities share a group. */
  readonly group: number;
  readonly state: QueueState;
  /** The agent's own average duration, for queued tasks outside the tail and running ones. */
  readonly avgMs: number;
  /** Expected time to finish everything it holds, in ms. */
  drain: number;
  /** Per capability group: the newest tail task it can run (null: none), filled lazily. */
  runnable: Array<TaskSummary | null | undefined>;
}

/**
 * The balanced strategy's projected state and its moves (see balanced.ts for the rules).
 * Every move is one task, from the source's tail, recorded in the log and projected at once.
 */
export class Balancer {
  readonly nodes: Node[];
  readonly log: StealLog;
  private readonly groups: Array<ReadonlySet<string>> = [];
  private readonly duration: (task: TaskSummary) => number;
  private budget: number;

  constructor(
    snapshot: PlannerSnapshot,
    private readonly config: PlannerConfig,
    private readonly options: PlannerOptions,
  ) {
    const fallbackMs = fleetAverageMs(snapshot.agents) ?? options.defaultTaskDurationMs;
    this.duration = (task) => taskDurationMs(task, snapshot.durationsByType, fallbackMs);
    const groupIndex = new Map<string, number>();
    this.nodes = aliveQueueStates(snapshot).map((state, index): Node => {
      const key = [...state.caps].sort().join("\n");
      let group = groupIndex.get(key);
      if (group === undefined) {
        group = this.groups.push(state.caps) - 1;
        groupIndex.set(key, group);
      }
      const node: Node = { index, group, state, avgMs: agentAverageMs(state.view.workload) ?? fallbackMs, drain: 0, runnable: [] };
      this.refresh(node);
      return node;
    });
    this.log = new StealLog(this.nodes.map((n) => n.state.id), config.maxStealBatch);
    // Each move lowers the multiset of drain times, so the greedy ends; this only bounds pathological cases.
    this.budget = 4 * this.nodes.reduce((n, x) => n + x.state.tail.length, 0) + this.nodes.length;
  }

  canGive(n: Node): boolean {
    const s = n.state;
    return s.tail.length > 0 && s.queued >= this.config.minTasksToSteal && s.queued + s.running > s.slots;
  }

  /** The task a move from v to t would take: v's newest tail task that t can run (cached until v's tail changes). */
  taskFor(v: Node, t: Node): TaskSummary | undefined {
    let task = v.runnable[t.group];
    if (task === undefined) {
      const caps = this.groups[t.group]!;
      task = v.state.tail.find((x) => canRun(caps, x.requiredCapabilities)) ?? null;
      v.runnable[t.group] = task;
    }
    return task ?? undefined;
  }

  /**
   * Is moving v's next task for t worth it? Returns t's drain once it holds the task, or
   * undefined. The margin is the hysteresis that keeps tasks where they are unless v is behind.
   */
  eligible(v: Node, t: Node): { finish: number; dv: number; dt: number } | undefined {
    if (v === t || !(t.drain < v.drain) || !this.canGive(v)) return undefined;
    const task = this.taskFor(v, t);
    if (!task) return undefined;
    const ms = this.duration(task);
    const dv = ms / v.state.slots;
    const dt = ms / t.state.slots;
    const finish = t.drain + dt;
    const gain = v.drain - Math.max(v.drain - dv, finish);
    const ok = gain > this.options.marginTaskFraction * Math.min(dv, dt) && v.drain - finish > this.options.marginFraction * v.drain;
    return ok ? { finish, dv, dt } : undefined;
  }

  /** The eligible thief that would finish v's task earliest. */
  bestThief(v: Node): Node | undefined {
    let best: { node: Node; finish: number } | undefined;
    for (const t of this.nodes) {
      const move = this.eligible(v, t);
      if (move && (!best || move.finish < best.finish || (move.finish === best.finish && tieBreak(t, best.node) < 0))) {
        best = { node: t, finish: move.finish };
      }
    }
    return best?.node;
  }

  /** Moves one task and projects it. False when the move budget is spent. */
  move(v: Node, t: Node, stuck?: Set<Node>): boolean {
    if (this.budget <= 0) return false;
    this.budget -= 1;
    const before = { source: v.drain, target: t.drain };
    moveTasks(v.state, t.state, 1);
    v.runnable = [];
    t.runnable = [];
    this.refresh(v);
    this.refresh(t);
    this.log.record(v.index, t.index, before, { source: v.drain, target: t.drain });
    if (stuck) {
      // Only t changed as a victim, and only v (now earlier) changed as a thief.
      stuck.delete(t);
      for (const x of stuck) if (this.eligible(x, v)) stuck.delete(x);
    }
    return true;
  }

  /**
   * The greedy to a fixed point: the latest-draining victim gives its next task to the thief that
   * would finish it earliest, until no eligible move is left anywhere.
   */
  run(): void {
    const stuck = new Set<Node>();
    for (;;) {
      const victim = latest(this.nodes, (n) => !stuck.has(n) && this.canGive(n));
      if (!victim) return;
      const thief = this.bestThief(victim);
      if (!thief) stuck.add(victim);
      else if (!this.move(victim, thief, stuck)) return;
    }
  }

  /**
   * Moves towards target drain times (from a trial run), victim by victim and thief by thief, so
   * that each pair gets one directive instead of interleaved single moves. Every move is eligible.
   */
  fillTowards(targets: readonly number[]): void {
    const target = (n: Node) => targets[n.index] ?? n.drain;
    const victims = this.nodes.filter((n) => target(n) < n.drain).sort((a, b) => b.drain - a.drain || compareIds(a.state.id, b.state.id));
    const thieves = this.nodes.filter((n) => target(n) > n.drain).sort((a, b) => a.drain - b.drain || tieBreak(a, b));
    for (const v of victims) {
      for (const t of thieves) {
        for (;;) {
          const move = this.eligible(v, t);
          if (!move || move.finish > target(t) + move.dt / 2 || v.drain - move.dv < target(v) - 0) break;
          if (!this.move(v, t)) return;
        }
      }
    }
  }

  private refresh(node: Node): void {
    // From scratch, in a fixed order, so that a projected snapshot gives bit-identical drains.
    const s = node.state;
    let work = (s.queued - s.tail.length + s.running) * node.avgMs;
    for (const task of s.tail) work += this.duration(task);
    node.drain = work / s.slots;
  }
}

function latest(nodes: readonly Node[], include: (n: Node) => boolean): Node | undefined {
  let best: Node | undefined;
  for (const n of nodes) {
    if (include(n) && (!best || n.drain > best.drain || (n.drain === best.drain && compareIds(n.state.id, best.state.id) < 0))) best = n;
  }
  return best;
}

/** Between thieves that would finish at the same time: earlier now, higher priority, lower cpu, id. */
function tieBreak(a: Node, b: Node): number {
  const va = a.state.view;
  const vb = b.state.view;
  return a.drain - b.drain || vb.priority - va.priority || va.workload.cpu - vb.workload.cpu || compareIds(va.id, vb.id);
}
