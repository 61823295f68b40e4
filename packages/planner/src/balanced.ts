import { canRun } from "./capabilities.js";
import { agentAverageMs, fleetAverageMs, taskDurationMs } from "./durations.js";
import { aliveQueueStates, compareIds, moveTasks, type QueueState } from "./queue-state.js";
import type { PlannerConfig, PlannerOptions, PlannerSnapshot, StealDraft, TaskSummary } from "./types.js";

/**
 * Cost-based stealing, after Dask's `distributed/stealing.py`.
 *
 * Drain time of an agent = its expected work / slots, where work = known tail tasks at their
 * type average (else estimate, else fleet average, else default) + the other queued and running
 * tasks at the agent's own average. Work is conserved by a move, so projections stay exact.
 *
 * Greedy, on projected state: take the latest-draining victim (it has tasks waiting for a slot
 * and holds at least minTasksToSteal queued); its thieves are the agents draining sooner that can
 * run one of its tail tasks. The level is the drain time the victim and those thieves would share
 * if balanced among themselves (water-filling: capability-aware, unlike a fleet mean). Fill the
 * earliest-finishing thief first, one task at a time (newest capable tail task, as the executor
 * picks), while the victim is above the level, the thief below it, and the move shortens
 * max(drain(victim), drain(thief)) by more than the margin: max(marginTaskFraction × the task's
 * drain time, marginFraction × the victim's drain time). The margin is the hysteresis: a task
 * never moves between agents that are within ~1.5 tasks of each other, so no ping-pong.
 *
 * In one round an agent either gives or receives, never both, and a pair gets at most one
 * directive (≤ maxStealBatch): the round's directives commute, and a task never moves twice.
 */
export function planBalanced(
  snapshot: PlannerSnapshot,
  config: PlannerConfig,
  options: PlannerOptions,
): StealDraft[] {
  const fallbackMs = fleetAverageMs(snapshot.agents) ?? options.defaultTaskDurationMs;
  const duration = (task: TaskSummary) => taskDurationMs(task, snapshot.durationsByType, fallbackMs);
  const nodes = aliveQueueStates(snapshot).map((state) => {
    const node: Node = { state, avgMs: agentAverageMs(state.view.workload) ?? fallbackMs, drain: 0 };
    refresh(node, duration);
    return node;
  });
  const canGive = (n: Node) =>
    n.state.tail.length > 0 &&
    n.state.queued >= config.minTasksToSteal &&
    n.state.queued + n.state.running > n.state.slots;

  const gave = new Set<Node>();
  const received = new Set<Node>();
  const tried = new Map<Node, Set<Node>>();
  const drafts: StealDraft[] = [];
  let active = nodes.filter(canGive);
  for (;;) {
    active = active.filter((n) => !received.has(n) && canGive(n));
    const victim = latest(active);
    if (!victim) break;
    const triedWith = tried.get(victim) ?? new Set<Node>();
    tried.set(victim, triedWith);
    const { thieves, level } = thievesOf(victim, nodes, gave, duration);
    let moved = 0;
    for (const thief of thieves) {
      if (triedWith.has(thief) || !(thief.drain < level)) continue;
      triedWith.add(thief);
      const before = { victim: victim.drain, thief: thief.drain };
      moved = fill(victim, thief, level);
      if (moved === 0) continue;
      gave.add(victim);
      received.add(thief);
      drafts.push({
        source: victim.state.id,
        target: thief.state.id,
        count: moved,
        reason:
          `balanced: drain ${victim.state.id} ${secs(before.victim)}->${secs(victim.drain)}, ` +
          `${thief.state.id} ${secs(before.thief)}->${secs(thief.drain)}, level ${secs(level)}`,
      });
      break;
    }
    if (moved === 0) active = active.filter((n) => n !== victim);
  }
  return drafts;

  function fill(victim: Node, thief: Node, level: number): number {
    let count = 0;
    while (count < config.maxStealBatch && canGive(victim) && victim.drain > level && thief.drain < level) {
      const task = victim.state.tail.find((t) => canRun(thief.state.caps, t.requiredCapabilities));
      if (!task) break;
      const ms = duration(task);
      const dv = ms / victim.state.slots;
      const dt = ms / thief.state.slots;
      const before = Math.max(victim.drain, thief.drain);
      const after = Math.max(victim.drain - dv, thief.drain + dt);
      const margin = Math.max(options.marginTaskFraction * Math.min(dv, dt), options.marginFraction * victim.drain);
      // The thief must not end later than the victim: it would become the next round's victim.
      if (!(before - after > margin) || thief.drain + dt > victim.drain - dv) break;
      moveTasks(victim.state, thief.state, 1);
      refresh(victim, duration);
      refresh(thief, duration);
      count += 1;
    }
    return count;
  }
}

interface Node {
  readonly state: QueueState;
  /** The agent's own average duration, for queued tasks outside the tail and running ones. */
  readonly avgMs: number;
  drain: number;
}

/** Recomputed from scratch, in a fixed order, so that a projected snapshot gives bit-identical drains. */
function refresh(node: Node, duration: (t: TaskSummary) => number): void {
  const s = node.state;
  let work = (s.queued - s.tail.length + s.running) * node.avgMs;
  for (const task of s.tail) work += duration(task);
  node.drain = work / s.slots;
}

function latest(nodes: readonly Node[]): Node | undefined {
  let best: Node | undefined;
  for (const n of nodes) {
    if (!best || n.drain > best.drain || (n.drain === best.drain && compareIds(n.state.id, best.state.id) < 0)) best = n;
  }
  return best;
}

/**
 * Agents that drain sooner than the victim, have not given this round, and can run one of its
 * tail tasks, earliest finish of that task first; and the level they would share with the victim.
 */
function thievesOf(
  victim: Node,
  nodes: readonly Node[],
  gave: ReadonlySet<Node>,
  duration: (t: TaskSummary) => number,
): { thieves: Node[]; level: number } {
  const found: Array<{ node: Node; finish: number }> = [];
  for (const node of nodes) {
    if (node === victim || gave.has(node) || !(node.drain < victim.drain)) continue;
    const task = victim.state.tail.find((t) => canRun(node.state.caps, t.requiredCapabilities));
    if (task) found.push({ node, finish: node.drain + duration(task) / node.state.slots });
  }
  let work = victim.drain * victim.state.slots;
  let slots = victim.state.slots;
  for (const { node } of [...found].sort((a, b) => a.node.drain - b.node.drain)) {
    if (node.drain >= work / slots) break;
    work += node.drain * node.state.slots;
    slots += node.state.slots;
  }
  found.sort((a, b) => a.finish - b.finish || a.node.drain - b.node.drain || thiefTieBreak(a.node, b.node));
  return { thieves: found.map((f) => f.node), level: work / slots };
}

function thiefTieBreak(a: Node, b: Node): number {
  const va = a.state.view;
  const vb = b.state.view;
  return vb.priority - va.priority || va.workload.cpu - vb.workload.cpu || compareIds(a.state.id, b.state.id);
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
