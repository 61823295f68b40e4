import type { AgentView } from "@worksteal/protocol";
import { canRun } from "./capabilities.js";
import type { PlannerSnapshot, TaskSummary } from "./types.js";

/**
 * One agent's queue as projected during a round. `queued` is never below the tail's length
 * (the tail is read from the queue itself; the folded counter may lag).
 */
export interface QueueState {
  readonly view: AgentView;
  readonly id: string;
  readonly caps: ReadonlySet<string>;
  /** Slots, at least 1. */
  readonly slots: number;
  readonly running: number;
  queued: number;
  /**
   * Newest first; projected moves take from here and push onto the target's front. Shared with
   * the snapshot until a move first changes it (copied then), so that a round does not copy
   * every agent's tail.
   */
  tail: readonly TaskSummary[];
  /** The tail is this state's own copy. */
  ownsTail: boolean;
  /** How many of the tail's newest tasks arrived by moves projected on this state. */
  arrived: number;
}

/** Capability sets by their sorted names: agents with the same capabilities share one. */
export type CapabilitySets = Map<string, ReadonlySet<string>>;

export function capabilityKey(capabilities: readonly string[]): string {
  const [a = "", b = ""] = capabilities;
  if (capabilities.length <= 1) return a;
  if (capabilities.length === 2) return a < b ? `${a}\n${b}` : `${b}\n${a}`;
  return [...capabilities].sort().join("\n");
}

export function queueStateOf(view: AgentView, tail: readonly TaskSummary[] | undefined, capabilitySets: CapabilitySets = new Map()): QueueState {
  const key = capabilityKey(view.capabilities);
  let caps = capabilitySets.get(key);
  if (!caps) capabilitySets.set(key, (caps = new Set(view.capabilities)));
  const shared = tail ?? [];
  return {
    view,
    id: view.id,
    caps,
    slots: Math.max(1, view.concurrency),
    running: Math.max(0, view.workload.running),
    queued: Math.max(view.workload.queued, shared.length),
    tail: shared,
    ownsTail: false,
    arrived: 0,
  };
}

/** Alive agents only (the first view of an id), sorted by id so that input order never changes the plan. */
export function aliveQueueStates(snapshot: PlannerSnapshot): QueueState[] {
  const agents = snapshot.agents;
  // The leader's snapshot usually comes sorted by id, without repeats: checking costs one pass,
  // while sorting 10k ids (or a set of them) costs a few ms.
  let strictlySorted = true;
  for (let i = 1; i < agents.length && strictlySorted; i += 1) strictlySorted = agents[i - 1]!.id < agents[i]!.id;
  const capabilitySets: CapabilitySets = new Map();
  const states: QueueState[] = [];
  const seen = strictlySorted ? undefined : new Set<string>();
  for (const a of agents) {
    if (seen) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
    }
    if (a.status === "alive") states.push(queueStateOf(a, snapshot.tails[a.id], capabilitySets));
  }
  if (!strictlySorted) states.sort((a, b) => compareIds(a.id, b.id));
  dropRepeatedTasks(states);
  return states;
}

/**
 * Keeps each task id in the first tail (by agent id) that holds it. Tails are read one by one, so
 * a task moving meanwhile can be read in two; a plan moving both copies would name it twice in a
 * directive, and the executor drops such a directive whole.
 */
function dropRepeatedTasks(states: QueueState[]): void {
  const seen = new Set<string>();
  for (const state of states) {
    const tail = state.tail;
    let kept: TaskSummary[] | undefined;
    for (let i = 0; i < tail.length; i += 1) {
      const task = tail[i]!;
      if (!seen.has(task.id)) {
        seen.add(task.id);
        kept?.push(task);
      } else {
        kept ??= tail.slice(0, i);
      }
    }
    if (kept) {
      state.tail = kept;
      state.ownsTail = true;
    }
  }
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Position in the tail of the newest task an agent with these capabilities can run, or -1. */
export function newestRunnable(state: QueueState, caps: ReadonlySet<string>): number {
  const tail = state.tail;
  for (let i = 0; i < tail.length; i += 1) if (canRun(caps, tail[i]!.requiredCapabilities)) return i;
  return -1;
}

/** How many tail tasks an agent with these capabilities can run. */
export function runnableCount(tail: readonly TaskSummary[], caps: ReadonlySet<string>): number {
  let n = 0;
  for (const t of tail) if (canRun(caps, t.requiredCapabilities)) n += 1;
  return n;
}

/**
 * Moves up to `count` tasks the target can run, newest first, as the directive executor does:
 * each one leaves the source's tail and becomes the newest of the target's queue.
 */
export function moveTasks(from: QueueState, to: QueueState, count: number): TaskSummary[] {
  if (count === 1) {
    const task = moveNewest(from, to);
    return task ? [task] : [];
  }
  const moved: TaskSummary[] = [];
  const source = writableTail(from);
  for (let i = 0; i < source.length && moved.length < count;) {
    const task = source[i]!;
    if (canRun(to.caps, task.requiredCapabilities)) {
      source.splice(i, 1);
      if (i < from.arrived) from.arrived -= 1;
      moved.push(task);
    } else {
      i += 1;
    }
  }
  if (moved.length === 0) return moved;
  from.queued -= moved.length;
  to.queued += moved.length;
  to.arrived += moved.length;
  const target = writableTail(to);
  for (const task of moved) target.unshift(task);
  return moved;
}

/**
 * Moves the named tasks still in the source's tail that the target can run, in the order named,
 * each to the front of the target's, as the executor does for a directive that names its tasks.
 */
export function moveNamed(from: QueueState, to: QueueState, taskIds: readonly string[]): TaskSummary[] {
  const moved: TaskSummary[] = [];
  for (const id of taskIds) {
    const i = from.tail.findIndex((t) => t.id === id);
    // Read on the target too (it moved between the two tails' reads): a second copy there
    // would let a later plan name it twice.
    if (i >= 0 && canRun(to.caps, from.tail[i]!.requiredCapabilities) && !to.tail.some((t) => t.id === id)) moved.push(moveAt(from, to, i));
  }
  return moved;
}

/** moveTasks for one task, without the garbage of splice and unshift (a round may make a hundred thousand moves). */
export function moveNewest(from: QueueState, to: QueueState): TaskSummary | undefined {
  const i = newestRunnable(from, to.caps);
  return i < 0 ? undefined : moveAt(from, to, i);
}

/** Moves the task at `i` in the source's tail (the target can run it) to the front of the target's, as a directive naming it does. */
export function moveAt(from: QueueState, to: QueueState, i: number): TaskSummary {
  const source = writableTail(from);
  const task = source[i]!;
  for (let j = i + 1; j < source.length; j += 1) source[j - 1] = source[j]!;
  source.pop();
  if (i < from.arrived) from.arrived -= 1;
  from.queued -= 1;
  to.queued += 1;
  to.arrived += 1;
  const target = writableTail(to);
  target.push(task);
  for (let j = target.length - 1; j > 0; j -= 1) target[j] = target[j - 1]!;
  target[0] = task;
  return task;
}

function writableTail(state: QueueState): TaskSummary[] {
  if (!state.ownsTail) {
    state.tail = [...state.tail];
    state.ownsTail = true;
  }
  return state.tail as TaskSummary[];
}
