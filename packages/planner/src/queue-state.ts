import type { AgentView } from "@worksteal/protocol";
import { canRun } from "./capabilities.js";
import { TaskIdSet } from "./task-id-set.js";
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
  return stateOf(view, shared, caps, shared.length);
}

/** `readLength`: how many tasks the tail held as read, repeats included (queued is at least that). */
function stateOf(view: AgentView, tail: readonly TaskSummary[], caps: ReadonlySet<string>, readLength: number): QueueState {
  return {
    view,
    id: view.id,
    caps,
    slots: Math.max(1, view.concurrency),
    running: Math.max(0, view.workload.running),
    queued: Math.max(view.workload.queued, readLength),
    tail,
    ownsTail: false,
    arrived: 0,
  };
}

/**
 * Whether a strategy plans with an agent: its tail, `queued` and `running` as its QueueState
 * would hold them. An agent it leaves out costs no state, no capability set and no place in an index.
 */
export type Planned = (view: AgentView, tail: readonly TaskSummary[], queued: number, running: number) => boolean;

/** The alive agents of a snapshot, in id order, each with its tail. */
export interface AliveAgents {
  readonly views: readonly AgentView[];
  /** Per agent: its tail, without the tasks an earlier tail holds (empty when none was read). */
  readonly tails: ReadonlyArray<readonly TaskSummary[]>;
  /** Per agent: how many tasks its tail held as read, repeats included (queued is at least that). */
  readonly readLengths: Int32Array;
}

/**
 * Alive agents only (the first view of an id), sorted by id so that input order never changes
 * the plan. A task read in two tails is kept in the first (by agent id) of the alive agents'.
 */
export function aliveAgents(snapshot: PlannerSnapshot): AliveAgents {
  // The loops over every agent are functions of their own: in a function that runs once per
  // round, the code after an on-stack-replaced loop kept being deoptimized.
  const alive = aliveInIdOrder(snapshot.agents);
  // Repeats dropped or not, queued counts the tail as read (it is read from the queue itself):
  // tailsOf notes each read length as it finds the tail, instead of a lookup by id per agent here.
  const readLengths = new Int32Array(alive.length);
  const tails = tailsOf(alive, snapshot.tails, readLengths);
  return { views: alive, tails, readLengths };
}

/** The alive agents (the first view of an id), sorted by id. */
function aliveInIdOrder(agents: readonly AgentView[]): AgentView[] {
  // The leader's snapshot usually comes sorted by id, without repeats: the alive ones are picked
  // while that is checked, in one pass (a second pass over 10,000 views cost as much again: they
  // do not stay in the caches), and only a snapshot that is not sorted is read again, through a set.
  // Sized for every agent and cut to length at the end (in place): pushed one by one, 10,000
  // agents were copied as the array grew.
  const alive = new Array<AgentView>(agents.length);
  let count = 0;
  let previousId: string | undefined;
  // Indexed loops over every agent: a for-of allocates a result per step until the function is optimized, and it runs once per round.
  for (let i = 0; i < agents.length; i += 1) {
    const a = agents[i]!;
    const id = a.id;
    if (previousId !== undefined && !(previousId < id)) return aliveOfUnsorted(agents, alive);
    previousId = id;
    if (a.status === "alive") alive[count++] = a;
  }
  alive.length = count;
  return alive;
}

/** aliveInIdOrder for a snapshot not sorted by id, or with repeats: `alive` is the array to fill (at least as long as `agents`). */
function aliveOfUnsorted(agents: readonly AgentView[], alive: AgentView[]): AgentView[] {
  const seen = new Set<string>();
  let count = 0;
  for (let i = 0; i < agents.length; i += 1) {
    const a = agents[i]!;
    if (seen.has(a.id)) continue;
    seen.add(a.id);
    if (a.status === "alive") alive[count++] = a;
  }
  alive.length = count;
  alive.sort((a, b) => compareIds(a.id, b.id));
  return alive;
}

/**
 * The QueueStates of aliveAgents, and of those only the ones `planned` keeps (a task read in two
 * tails is kept in the first, whether or not that agent is planned with).
 */
export function aliveQueueStates(snapshot: PlannerSnapshot, planned?: Planned): QueueState[] {
  const { views, tails, readLengths } = aliveAgents(snapshot);
  const capabilitySets = new CapabilityLookup();
  const states: QueueState[] = [];
  for (let i = 0; i < views.length; i += 1) {
    const view = views[i]!;
    const tail = tails[i]!;
    const readLength = readLengths[i]!;
    if (planned && !planned(view, tail, Math.max(view.workload.queued, readLength), Math.max(0, view.workload.running))) continue;
    states.push(stateOf(view, tail, capabilitySets.of(view.capabilities), readLength));
  }
  return states;
}

const EMPTY_TAIL: readonly TaskSummary[] = Object.freeze([]);

/**
 * One set per distinct capabilities. Capability lists read from Redis are fresh arrays of fresh
 * strings: the last few lists are compared element by element before a key is built and hashed
 * (a fleet has few profiles, and the leader lists agents of one profile together more often than not).
 */
export class CapabilityLookup {
  private readonly byKey: CapabilitySets = new Map();
  private readonly recentLists: Array<readonly string[]> = [];
  private readonly recentSets: Array<ReadonlySet<string>> = [];

  of(capabilities: readonly string[]): ReadonlySet<string> {
    const lists = this.recentLists;
    for (let i = 0; i < lists.length; i += 1) if (sameList(lists[i]!, capabilities)) return this.recentSets[i]!;
    const key = capabilityKey(capabilities);
    let caps = this.byKey.get(key);
    if (!caps) this.byKey.set(key, (caps = new Set(capabilities)));
    if (lists.length === RECENT_CAPABILITIES) {
      lists.pop();
      this.recentSets.pop();
    }
    lists.unshift(capabilities);
    this.recentSets.unshift(caps);
    return caps;
  }
}

const RECENT_CAPABILITIES = 4;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Per alive agent (sorted by id), its tail (empty when none was read), without the tasks an earlier tail holds. Only the
 * agents with a tail are looked at (the leader reads few), matched to the agents by a merge of
 * the two id orders (each holder found by a binary search past the last) instead of a lookup per agent. Tails are read one by one, so a task moving
 * meanwhile can be read in two; a plan moving both copies would name it twice in a directive, and
 * the executor drops such a directive whole: each task stays in the first tail that holds it.
 */
function tailsOf(alive: readonly AgentView[], tails: PlannerSnapshot["tails"], readLengths: Int32Array): Array<readonly TaskSummary[]> {
  const byPosition = new Array<readonly TaskSummary[] | undefined>(alive.length);
  const holders = Object.keys(tails).filter((id) => (tails[id]?.length ?? 0) > 0);
  holders.sort(compareIds);
  const positions: number[] = [];
  let j = 0;
  for (const id of holders) {
    // The first agent from j on whose id is not below this one: a binary search, not a walk
    // (a few hundred holders among 10,000 agents, whose ids a walk compared one by one).
    let end = alive.length;
    while (j < end) {
      const middle = (j + end) >>> 1;
      if (alive[middle]!.id < id) j = middle + 1;
      else end = middle;
    }
    if (j < alive.length && alive[j]!.id === id) {
      byPosition[j] = tails[id];
      readLengths[j] = tails[id]!.length;
      positions.push(j);
    }
  }
  let readTasks = 0;
  for (const position of positions) readTasks += byPosition[position]!.length;
  const seen = new TaskIdSet(readTasks);
  for (const position of positions) {
    const tail = byPosition[position]!;
    let kept: TaskSummary[] | undefined;
    for (let i = 0; i < tail.length; i += 1) {
      const task = tail[i]!;
      if (seen.add(task.id)) kept?.push(task);
      else kept ??= tail.slice(0, i);
    }
    if (kept) byPosition[position] = kept;
  }
  for (let i = 0; i < byPosition.length; i += 1) byPosition[i] ??= EMPTY_TAIL;
  return byPosition as Array<readonly TaskSummary[]>;
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
