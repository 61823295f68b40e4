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
  /** Newest first; projected moves take from here and push onto the target's front. */
  readonly tail: TaskSummary[];
}

export function queueStateOf(view: AgentView, tail: readonly TaskSummary[] | undefined): QueueState {
  const copy = [...(tail ?? [])];
  return {
    view,
    id: view.id,
    caps: new Set(view.capabilities),
    slots: Math.max(1, view.concurrency),
    running: Math.max(0, view.workload.running),
    queued: Math.max(view.workload.queued, copy.length),
    tail: copy,
  };
}

/** Alive agents only (the first view of an id), sorted by id so that input order never changes the plan. */
export function aliveQueueStates(snapshot: PlannerSnapshot): QueueState[] {
  const seen = new Set<string>();
  return snapshot.agents
    .filter((a) => !seen.has(a.id) && seen.add(a.id) && a.status === "alive")
    .map((a) => queueStateOf(a, snapshot.tails[a.id]))
    .sort((a, b) => compareIds(a.id, b.id));
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
  const moved: TaskSummary[] = [];
  for (let i = 0; i < from.tail.length && moved.length < count;) {
    const task = from.tail[i]!;
    if (canRun(to.caps, task.requiredCapabilities)) {
      from.tail.splice(i, 1);
      moved.push(task);
    } else {
      i += 1;
    }
  }
  from.queued -= moved.length;
  to.queued += moved.length;
  for (const task of moved) to.tail.unshift(task);
  return moved;
}
