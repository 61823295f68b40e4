import type { AgentView } from "@worksteal/protocol";
import type { IndexedHeap } from "./indexed-heap.js";
import type { QueueState } from "./queue-state.js";
import type { TaskSummary } from "./types.js";

/** A task a victim could give a thief of one capability group. */
export interface Candidate {
  readonly task: TaskSummary;
  /** Its epoch: above 1 when it moved before. */
  readonly epoch: number;
  /** Its expected work at speed 1, in whole ms. */
  readonly ms: number;
  readonly priority: number;
  /**
   * Bit g set: capability group g can run it. Every bit set (-1) when it requires nothing; also -1
   * in a fleet of more than MASKED_GROUPS groups, where readers must ask canRun. Computed once per
   * task: the lists of each group, and the levels, filter by it instead of asking every group's
   * capability set again.
   */
  readonly groups: number;
}

/** The most capability groups a Candidate's `groups` mask speaks for (bits of a small integer). */
export const MASKED_GROUPS = 30;

/**
 * The numbers of every node of a round, in typed arrays indexed by node (its position in id
 * order). As objects, a round at 10,000 agents held 10,000 nodes of twenty fields, their doubles
 * boxed one by one, all alive until the round ended: the young generation's collections copied
 * them, and promoted them, round after round.
 */
export class NodeTable {
  readonly queued: Float64Array;
  /** How many of the tail's newest tasks arrived by moves of this pass. */
  readonly arrived: Float64Array;
  /** Expected work held, in whole ms: integer sums are exact, so the next round sees exactly this state. */
  readonly work: Float64Array;
  /** Expected time to finish everything held: work / capacity. */
  readonly drain: Float64Array;
  /** 1: gave a task in this pass (some task of its tail as the round began has left it). */
  readonly gave: Uint8Array;
  /** Its bucket's place in its group's GroupThieves. */
  readonly slot: Int32Array;
  readonly buckets: Array<IndexedHeap<Node>>;

  /** The fleet's numbers that no move changes are read where the Fleet keeps them, not copied. */
  constructor(
    readonly views: readonly AgentView[],
    readonly caps: ReadonlyArray<ReadonlySet<string>>,
    readonly slots: Float64Array,
    readonly running: Float64Array,
    /** slots × speed: work per ms. */
    readonly capacity: Float64Array,
    /** Expected duration of its running tasks at speed 1. */
    readonly avgMs: Float64Array,
    readonly priority: Float64Array,
    readonly cpu: Float64Array,
    readonly group: Int32Array,
  ) {
    const n = views.length;
    this.queued = new Float64Array(n);
    this.arrived = new Float64Array(n);
    this.work = new Float64Array(n);
    this.drain = new Float64Array(n);
    this.gave = new Uint8Array(n);
    this.slot = new Int32Array(n);
    this.buckets = new Array<IndexedHeap<Node>>(n);
  }
}

/**
 * An agent's projected queue, with what the balancer keeps of it: its numbers live in the
 * NodeTable (read and written through accessors, which the optimizing compiler inlines), only its
 * references here.
 */
export class Node implements QueueState {
  /** Newest first; shared with the snapshot until a move changes it (moveAt copies it then). */
  tail: readonly TaskSummary[];
  ownsTail = false;
  /**
   * Per capability group: the tasks a thief of the group could take, largest first (weigh's order):
   * those worth a move that did not arrive this round. Filled lazily, then kept up by each move.
   */
  runnable: Array<Candidate[] | undefined> | undefined = undefined;

  constructor(
    private readonly table: NodeTable,
    /** Position in id order. */
    readonly index: number,
    tail: readonly TaskSummary[],
  ) {
    this.tail = tail;
  }

  get view(): AgentView {
    return this.table.views[this.index]!;
  }
  get id(): string {
    return this.table.views[this.index]!.id;
  }
  get caps(): ReadonlySet<string> {
    return this.table.caps[this.index]!;
  }
  get slots(): number {
    return this.table.slots[this.index]!;
  }
  get running(): number {
    return this.table.running[this.index]!;
  }
  get queued(): number {
    return this.table.queued[this.index]!;
  }
  set queued(value: number) {
    this.table.queued[this.index] = value;
  }
  get arrived(): number {
    return this.table.arrived[this.index]!;
  }
  set arrived(value: number) {
    this.table.arrived[this.index] = value;
  }
  get work(): number {
    return this.table.work[this.index]!;
  }
  set work(value: number) {
    this.table.work[this.index] = value;
  }
  get drain(): number {
    return this.table.drain[this.index]!;
  }
  set drain(value: number) {
    this.table.drain[this.index] = value;
  }
  get gave(): boolean {
    return this.table.gave[this.index] === 1;
  }
  set gave(value: boolean) {
    this.table.gave[this.index] = value ? 1 : 0;
  }
  get capacity(): number {
    return this.table.capacity[this.index]!;
  }
  get avgMs(): number {
    return this.table.avgMs[this.index]!;
  }
  get priority(): number {
    return this.table.priority[this.index]!;
  }
  get cpu(): number {
    return this.table.cpu[this.index]!;
  }
  get group(): number {
    return this.table.group[this.index]!;
  }
  get slot(): number {
    return this.table.slot[this.index]!;
  }
  get bucket(): IndexedHeap<Node> {
    return this.table.buckets[this.index]!;
  }
}
