import type { AgentView } from "@worksteal/protocol";
import { canRun } from "./capabilities.js";
import { agentAverageMs, durationSpread, fleetAverageMs, taskDurationMs } from "./durations.js";
import { FillThieves } from "./fill-thieves.js";
import { IndexedHeap } from "./indexed-heap.js";
import { compareNumbers } from "./compare-numbers.js";
import { levelTargets, MAX_GROUPS } from "./levels.js";
import { type Candidate, MASKED_GROUPS, Node, NodeTable } from "./balancer-nodes.js";
import { aliveAgents, CapabilityLookup, moveAt } from "./queue-state.js";
import { AFTER_SOURCE, AFTER_TARGET, BEFORE_SOURCE, BEFORE_TARGET, StealLog } from "./steal-log.js";
import { GroupThieves } from "./thief-index.js";
import type { PlannerConfig, PlannerOptions, PlannerSnapshot, TaskSummary } from "./types.js";

/**
 * What every Balancer of a round starts from: read from the snapshot once, per alive agent in id
 * order, into arrays (no object per agent: a balanced fleet, the common case, needs none).
 */
export class Fleet {
  readonly views: readonly AgentView[];
  /** Per agent: its id (read with the rest of its view: the directives name their agents). */
  readonly ids: readonly string[];
  /** Per agent: its tail as the round began. */
  readonly tails: ReadonlyArray<readonly TaskSummary[]>;
  /** Per agent: its capability set (agents with the same capabilities share one). */
  readonly caps: ReadonlyArray<ReadonlySet<string>>;
  /**
   * Per agent: slots (at least 1), running tasks (at least 0), and queued ones (at least its tail
   * as read), as a QueueState holds them. In typed arrays, outside the heap: as arrays they were
   * 240 KB a round at 10,000 agents that each young-generation collection in the round copied.
   */
  readonly slots: Float64Array;
  readonly running: Float64Array;
  readonly queued: Float64Array;
  /** Per agent: its capability group. */
  readonly groupOf: Int32Array;
  readonly groups: ReadonlyArray<ReadonlySet<string>> = [];
  /**
   * Per state: the expected duration, at speed 1, of its queued tasks outside the tail and its
   * running ones: its own average times its speed (so its group's average once its speed is known).
   */
  readonly avgMs: Float64Array;
  /** Per state: slots × speed, the work it does per ms (its slots until its speed is known). */
  readonly capacity: Float64Array;
  /** Per state: expected work held at the start of the round, in whole ms. */
  readonly work: Float64Array;
  /** Per state: its agent's priority and cpu (the thieves' order among equal drains). */
  readonly priority: Float64Array;
  readonly cpu: Float64Array;
  readonly tailTasks: number;
  /** The shortest expected duration of any tail task, in ms (Infinity without any). */
  readonly shortestTaskMs: number;
  /** Whether any tail task has a priority above 0 (the priority rule may apply). */
  readonly raisedPriorities: boolean;
  /** Run times' squared coefficient of variation (durationSpread; 0 when no agent tells). */
  readonly spread: number;
  /**
   * A running task's expected remaining time over its average duration: seen at a moment that
   * does not depend on when it started, a task is more likely a long one, and has on average
   * (1 + spread) / 2 of the average left (the inspection paradox: E[D²] / 2E[D]). Never below 1:
   * a round may come just after it started, and constant durations (spread 0, a half left) are
   * not worth trading on. At most 4: the spread is at most MAX_AGENT_SPREAD.
   */
  readonly runningFactor: number;
  private readonly byType = new Map<string, number | null>();
  /**
   * The first few types seen and their averages, compared before hashing: type names read from
   * Redis are fresh strings, which a Map lookup hashes one by one, and most fleets have few types.
   */
  private readonly recentTypes: string[] = [];
  private readonly recentTypeMs: Array<number | null> = [];
  /** The fleet's average duration (else the default), once something needed it (NaN before). */
  private fallbackMsOnce = Number.NaN;
  private readonly defaultTaskDurationMs: number;
  private readonly estimateWeight: number;

  constructor(
    private readonly snapshot: PlannerSnapshot,
    options: PlannerOptions,
  ) {
    this.defaultTaskDurationMs = options.defaultTaskDurationMs;
    this.estimateWeight = Math.max(0, options.estimateWeight);
    const { views, tails, readLengths } = aliveAgents(snapshot);
    this.views = views;
    this.tails = tails;
    const capabilitySets = new CapabilityLookup();
    // Agents with the same capabilities share one set (CapabilityLookup): the set names the group.
    const groupIndex = new Map<ReadonlySet<string>, number>();
    const groups: Array<ReadonlySet<string>> = [];
    const n = views.length;
    const caps = new Array<ReadonlySet<string>>(n);
    const groupOf = new Int32Array(n);
    const slots = new Float64Array(n);
    const running = new Float64Array(n);
    const queued = new Float64Array(n);
    // Each agent's own average, read once (NaN: none): capacities and avgMs both need it.
    const averages = new Float64Array(n);
    const completions = new Float64Array(n);
    const completionMs = new Float64Array(n);
    const priority = new Float64Array(n);
    const cpu = new Float64Array(n);
    const ids = new Array<string>(n);
    let lastCaps: ReadonlySet<string> | undefined;
    let lastGroup = -1;
    for (let i = 0; i < n; i += 1) {
      const view = views[i]!;
      const set = capabilitySets.of(view.capabilities);
      // The leader lists agents of one profile together more often than not: the last group is checked before the map.
      if (set !== lastCaps) {
        let group = groupIndex.get(set);
        if (group === undefined) groupIndex.set(set, (group = groups.push(set) - 1));
        lastCaps = set;
        lastGroup = group;
      }
      caps[i] = set;
      groupOf[i] = lastGroup;
      // Everything the round reads of the view, in this one pass: 10,000 views and their
      // workloads do not stay in the caches from one pass to the next.
      const workload = view.workload;
      slots[i] = Math.max(1, view.concurrency);
      running[i] = Math.max(0, workload.running);
      queued[i] = Math.max(workload.queued, readLengths[i]!);
      averages[i] = agentAverageMs(workload) ?? Number.NaN;
      completions[i] = workload.durationCount;
      completionMs[i] = workload.durationSumMs;
      priority[i] = view.priority;
      cpu[i] = workload.cpu;
      ids[i] = view.id;
    }
    this.ids = ids;
    this.priority = priority;
    this.cpu = cpu;
    this.caps = caps;
    this.groupOf = groupOf;
    this.groups = groups;
    this.slots = slots;
    this.running = running;
    this.queued = queued;
    this.capacity = capacities({ completions, completionMs, averages }, slots, groupOf, groups.length);
    this.spread = durationSpread(views);
    this.runningFactor = Math.max(1, (1 + this.spread) / 2);
    // A method of its own, like the other loops over every agent that run once per round: here,
    // after the loop above, it allocated about 60 bytes per agent (0.6 MB a round at 10,000).
    const held = this.heldWork(averages);
    this.avgMs = held.avgMs;
    this.work = held.work;
    this.tailTasks = held.tailTasks;
    this.shortestTaskMs = held.shortestTaskMs;
    this.raisedPriorities = held.raisedPriorities;
  }

  /**
   * Per agent, avgMs (from its own average, NaN for none) and the work it holds, its tail task by
   * task; and the tails' count, shortest task and whether any task has a raised priority.
   */
  private heldWork(averages: Float64Array): Pick<Fleet, "avgMs" | "work" | "tailTasks" | "shortestTaskMs" | "raisedPriorities"> {
    const { tails, slots, queued, running, capacity } = this;
    const n = tails.length;
    const avgMs = new Float64Array(n);
    const work = new Float64Array(n);
    let tailTasks = 0;
    let shortestTaskMs = Infinity;
    let raisedPriorities = false;
    for (let i = 0; i < n; i += 1) {
      const average = averages[i]!;
      avgMs[i] = Math.round(((Number.isNaN(average) ? this.fallbackMs() : average) * capacity[i]!) / slots[i]!);
      const tail = tails[i]!;
      tailTasks += tail.length;
      let held = (queued[i]! - tail.length) * avgMs[i]! + running[i]! * this.runningMs(avgMs[i]!);
      for (let j = 0; j < tail.length; j += 1) {
        const task = tail[j]!;
        const ms = this.duration(task);
        held += ms;
        if (ms < shortestTaskMs) shortestTaskMs = ms;
        if ((task.priority ?? 0) > 0) raisedPriorities = true;
      }
      work[i] = held;
    }
    return { avgMs, work, tailTasks, shortestTaskMs, raisedPriorities };
  }

  /** The expected remaining time of a running task whose average duration is avgMs, whole ms (runningFactor). */
  runningMs(avgMs: number): number {
    return this.runningFactor === 1 ? avgMs : Math.round(avgMs * this.runningFactor);
  }

  /**
   * Whether any move can be eligible: some agent drains before the thief bound of the latest one
   * with a task waiting for a slot (Balancer.thiefBound). When none does, the greedy would stop at
   * once; checking costs one pass over arrays, where building the balancer's nodes and heaps
   * costs far more, and a fleet in balance is the common case.
   */
  anyMovePossible(marginFraction: number): boolean {
    let latestGiver = -Infinity;
    let earliest = Infinity;
    for (let i = 0; i < this.views.length; i += 1) {
      const drain = this.work[i]! / this.capacity[i]!;
      if (drain < earliest) earliest = drain;
      if (this.tails[i]!.length > 0 && this.queued[i]! + this.running[i]! > this.slots[i]! && drain > latestGiver) latestGiver = drain;
    }
    return earliest < Math.min(latestGiver, (1 - marginFraction) * latestGiver);
  }

  /**
   * A task's expected duration at speed 1, in whole ms: its type's average, with its own estimate
   * as a prior worth estimateWeight completions when the snapshot says how many the average rests
   * on; else its estimate; else the fleet's average. The type's average is looked up once per type.
   */
  duration(task: TaskSummary): number {
    const byType = this.typeAverageMs(task.type);
    const raw = task.estimatedDurationMs;
    const estimate = raw !== undefined && Number.isFinite(raw) && raw >= 0 ? raw : undefined;
    if (estimate === undefined) return byType ?? Math.round(this.fallbackMs());
    if (byType === null) return Math.round(estimate);
    const count = this.snapshot.durationCountsByType?.[task.type];
    if (count === undefined || !Number.isFinite(count) || count < 0) return byType;
    const weight = this.estimateWeight;
    // Neither the estimate nor the average counts (estimateWeight 0, no completions yet): the average's own.
    if (weight + count === 0) return byType;
    return Math.round((estimate * weight + byType * count) / (weight + count));
  }

  /** One standard deviation of a run time, ms: √spread × the fleet's average (0 when no agent tells). */
  spreadMs(): number {
    return this.spread > 0 ? Math.sqrt(this.spread) * this.fallbackMs() : 0;
  }

  /**
   * The duration of a task or agent that no average or estimate speaks for: the fleet's average,
   * else the default. Computed when first needed: it is a pass over every agent's history, and a
   * fleet whose agents and tasks all have averages or estimates never needs it.
   */
  private fallbackMs(): number {
    if (Number.isNaN(this.fallbackMsOnce)) this.fallbackMsOnce = fleetAverageMs(this.snapshot.agents) ?? this.defaultTaskDurationMs;
    return this.fallbackMsOnce;
  }

  /** The type's average in whole ms, or null when it has none. */
  private typeAverageMs(type: string): number | null {
    const recent = this.recentTypes;
    for (let i = 0; i < recent.length; i += 1) if (recent[i] === type) return this.recentTypeMs[i]!;
    let ms = this.byType.get(type);
    if (ms === undefined) {
      const known = taskDurationMs({ type }, this.snapshot.durationsByType, Number.NaN);
      this.byType.set(type, (ms = Number.isNaN(known) ? null : Math.round(known)));
      if (recent.length < RECENT_TYPES) {
        recent.push(type);
        this.recentTypeMs.push(ms);
      }
    }
    return ms;
  }
}

/**
 * The thieves' buckets (equal capabilities and capacity: whole slots, or quarter powers of two,
 * few distinct values), numbered in the order first seen: per agent its bucket, and per bucket
 * its key, its largest capacity and how many agents it holds (its heap is sized for them at
 * once: grown by pushes, the buckets' arrays were copied as they grew). One lookup by key per
 * agent. Loops, not map and forEach: a callback's double arguments and results are boxed, per agent.
 */
function bucketsOf(fleet: Fleet): { bucketOf: Int32Array; keys: number[]; largest: number[]; sizes: number[] } {
  const n = fleet.views.length;
  const bucketOf = new Int32Array(n);
  const byKey = new Map<number, number>();
  const keys: number[] = [];
  const largest: number[] = [];
  const sizes: number[] = [];
  for (let index = 0; index < n; index += 1) {
    const capacity = fleet.capacity[index]!;
    const key = fleet.groupOf[index]! * 2 ** 24 + Math.round(Math.min(capacity, 16_000) * 1024);
    let bucket = byKey.get(key);
    if (bucket === undefined) {
      byKey.set(key, (bucket = keys.push(key) - 1));
      largest.push(capacity);
      sizes.push(0);
    } else if (capacity > largest[bucket]!) {
      largest[bucket] = capacity;
    }
    sizes[bucket] = sizes[bucket]! + 1;
    bucketOf[index] = bucket;
  }
  return { bucketOf, keys, largest, sizes };
}

/** Every agent's node, its numbers as the round began in the table, appended to its bucket (not yet ordered). */
function nodesOf(
  fleet: Fleet,
  table: NodeTable,
  buckets: { bucketOf: Int32Array; slotOf: Int32Array },
  thieves: ReadonlyArray<GroupThieves<Node> | undefined>,
): Node[] {
  const n = fleet.views.length;
  // Sized at once: pushed one by one, 10,000 nodes were copied as the array grew.
  const nodes = new Array<Node>(n);
  for (let index = 0; index < n; index += 1) {
    const slot = buckets.slotOf[buckets.bucketOf[index]!]!;
    const work = fleet.work[index]!;
    table.queued[index] = fleet.queued[index]!;
    table.work[index] = work;
    table.drain[index] = work / fleet.capacity[index]!;
    table.slot[index] = slot;
    const bucket = thieves[fleet.groupOf[index]!]!.buckets[slot]!;
    table.buckets[index] = bucket;
    // The tail stays shared with the snapshot until a move changes it (moveAt copies it then).
    const node = new Node(table, index, fleet.tails[index]!);
    nodes[index] = node;
    bucket.append(node);
  }
  return nodes;
}

/** Relative slack of the bounds that let bestThief pass over a bucket: rounding never hides a better thief. */
const SLACK = 1e-9;

/** The most moves the log's arrays are sized for at once: a round moves far fewer tasks than its tails hold, and a larger log grows as it fills. */
const MAX_LOG_SIZE_HINT = 1 << 15;

/** How many types the duration lookup compares before it hashes. */
const RECENT_TYPES = 8;

/** Completions an agent needs before its average says anything about its speed. */
const SPEED_SAMPLES = 5;
/** Speeds are believed within this factor of the group's average (a few long tasks are not a slow agent). */
const SPEED_LIMIT = 4;
/**
 * How many standard errors an agent's average must stray from its group's before its speed is
 * believed. The average of n durations spread like an exponential's (standard deviation = mean)
 * strays about 1/√n from the mean in log terms by chance alone; agents that happened to run more
 * short (or long) tasks than the rest are not faster (or slower), and taking them to be sends
 * tasks after noise (bimodal or heavy-tailed durations). Heavier tails than the exponential's can
 * still fool it, less often.
 */
const SPEED_EVIDENCE = 2;

/**
 * Per state (with its own average, NaN for none): slots × speed, where its speed is its group's average duration over its own (agents
 * with the same capabilities run the same kinds of task, so a shorter average means a faster
 * agent), from agents with at least SPEED_SAMPLES completions in groups with at least two of
 * them, once the difference is more than chance (SPEED_EVIDENCE). A speed other than about 1 makes a capacity in steps of a quarter power of two, so that
 * thieves of one group fall into few buckets of equal capacity (a move looks at every bucket's
 * first thief); otherwise the capacity is the slots.
 */
function capacities(
  history: { completions: Float64Array; completionMs: Float64Array; averages: Float64Array },
  slots: Float64Array,
  groupOf: Int32Array,
  groups: number,
): Float64Array {
  const { completions, completionMs, averages } = history;
  const sum = new Float64Array(groups);
  const count = new Float64Array(groups);
  const agents = new Int32Array(groups);
  const n = slots.length;
  for (let i = 0; i < n; i += 1) {
    // NaN (no average) is not above 0.
    if (!(completions[i]! >= SPEED_SAMPLES && averages[i]! > 0)) continue;
    const g = groupOf[i]!;
    sum[g] = sum[g]! + completionMs[i]!;
    count[g] = count[g]! + completions[i]!;
    agents[g] = agents[g]! + 1;
  }
  // A fleet has few steps: each power is computed once (a fractional power costs more than the rest of an agent's setup).
  const powers = new Map<number, number>();
  const result = new Float64Array(slots);
  for (let i = 0; i < n; i += 1) {
    const g = groupOf[i]!;
    if (!(completions[i]! >= SPEED_SAMPLES && averages[i]! > 0) || agents[g]! < 2) continue;
    const speed = Math.min(SPEED_LIMIT, Math.max(1 / SPEED_LIMIT, sum[g]! / count[g]! / averages[i]!));
    // Within half a step of the group's average, the agent is as fast as the rest: its slots.
    // (Well inside or well outside that band no logarithm is needed to tell; near its edges the
    // test itself decides.)
    if (speed > WITHIN_HALF_STEP_LOW && speed < WITHIN_HALF_STEP_HIGH) continue;
    if (speed > BEYOND_HALF_STEP_LOW && speed < BEYOND_HALF_STEP_HIGH && Math.round(CAPACITY_STEPS * Math.log2(speed)) === 0) continue;
    // Within chance of the group's average for as many completions: as fast as the rest.
    if (Math.log(speed) ** 2 * completions[i]! < SPEED_EVIDENCE ** 2) continue;
    const step = Math.round(CAPACITY_STEPS * Math.log2(slots[i]! * speed));
    let capacity = powers.get(step);
    if (capacity === undefined) powers.set(step, (capacity = 2 ** (step / CAPACITY_STEPS)));
    result[i] = capacity;
  }
  return result;
}

const CAPACITY_STEPS = 4;
/** Speeds this far inside 2^(±1/8), half a step, round to step 0 whatever the logarithm's rounding; this far outside, to another. */
const WITHIN_HALF_STEP_LOW = 2 ** (-0.5 / CAPACITY_STEPS) * (1 + 1e-9);
const WITHIN_HALF_STEP_HIGH = 2 ** (0.5 / CAPACITY_STEPS) * (1 - 1e-9);
const BEYOND_HALF_STEP_LOW = 2 ** (-0.5 / CAPACITY_STEPS) * (1 - 1e-9);
const BEYOND_HALF_STEP_HIGH = 2 ** (0.5 / CAPACITY_STEPS) * (1 + 1e-9);

/**
 * The balanced strategy's projected state and its moves (balanced.ts states the rules). A move is
 * one task of the source's tail, chosen by the planner and named in its directive, projected at
 * once and recorded in the log.
 *
 * Thieves are kept in heaps ("buckets") of equal capabilities and capacity, earliest first: within a
 * bucket every agent would take the same task, and finish it earliest and most eligibly when it
 * drains earliest, so the best thief is the best of the buckets' first two (one may be the victim
 * itself). The priority rule is the exception: it asks what would come before the task on the
 * thief, not when the thief drains (bestThief weighs the rest of a bucket then). Victims are a
 * heap, latest first. A move costs O(buckets + log agents), plus a look at
 * the victims stuck for want of a thief when the victim, now earlier, leads its bucket.
 *
 * No task moves twice in a round: a task that arrived by a move of this round is no candidate,
 * which also rules out sending it straight back.
 */
export class Balancer {
  readonly log: StealLog;
  private readonly nodes: Node[];
  /** The nodes' numbers (Node reads and writes them there). */
  private readonly table: NodeTable;
  private readonly buckets: Array<IndexedHeap<Node>> = [];
  /** The buckets of each capability group. */
  private readonly thieves: Array<GroupThieves<Node> | undefined> = [];
  private budget: number;
  /** A task that arrived this round may move on (a trial run only: its moves are not directives). */
  private relay = false;
  /** Moves made while relaying (a trial's, which the log does not record). */
  private relayed = 0;
  /**
   * What choose and bestThief found last: t's drain once it holds the chosen task, and the best
   * thief's task. Fields, not returned objects: a round may make ten thousand moves.
   */
  private chosenFinish = 0;
  /** What findWorthLimit found last. */
  private worthLimit = 0;
  /** marginSpread × a run time's standard deviation, ms (spreadMargin). */
  private readonly spreadMarginMs: number;
  private thiefCandidate: Candidate | undefined;
  /** bestThief's best so far: the thief, its task, the later drain of the two after the move, and the thief's. */
  private best: Node | undefined;
  private bestCandidate: Candidate | undefined;
  private bestLatest = Infinity;
  private bestFinish = Infinity;
  /**
   * How many times the priority rule kept a task from a thief that v would not start at once (so a
   * thief with fewer tasks of its priority ahead might): that rule is no matter of drain, so
   * while it has never applied, the earliest thief of a bucket stands for all of it.
   */
  private vetoes = 0;
  /**
   * Thieves the walks past a bucket's first may still weigh in this pass: a fleet where most
   * thieves hold tasks of a higher priority would have every look walk every bucket (quadratic),
   * so, like the move budget, this bounds pathological inputs; past it, the first thief stands
   * for its bucket again.
   */
  private walkBudget: number;
  /** Moves of a fill (fillTowards) leave the heaps alone: `run` orders the buckets it changed when the greedy starts. */
  private filling = false;
  /** The drains of the move being recorded (StealLog.record). */
  private readonly moveDrains = new Float64Array(4);
  /**
   * bestThief's order of the capability groups it looks at, and per group what it found of v's
   * largest task for the group: v's drain once it gives it, the bucket that would finish it
   * first and when, the runner-up's finish, and whether no thief drains before 0. Fields: it
   * runs once per move.
   */
  private readonly groupOrder: Int32Array;
  private readonly groupFloor: Float64Array;
  private readonly groupFirst: Int32Array;
  private readonly groupFirstFinish: Float64Array;
  private readonly groupSecondFinish: Float64Array;
  private readonly groupAllNonNegative: Uint8Array;
  /** Per node: its tail as the round began, weighed (weighStart), once any pass needed it. */
  private readonly startCandidates: Array<Candidate[] | undefined>;
  /**
   * Tasks of tails that moves changed, as weigh found them (null: not worth a move): a task's
   * candidate does not depend on the tail that holds it, and a trial weighs such tails again
   * and again (a thief with a queue that receives a task becomes a victim).
   */
  private readonly weighed = new Map<TaskSummary, Candidate | null>();
  /** Per node and capability group: those of startCandidates that the group can run, once any pass needed them. */
  private readonly startRunnable: Array<Array<Candidate[] | undefined> | undefined>;

  constructor(
    private readonly fleet: Fleet,
    private readonly config: PlannerConfig,
    private readonly options: PlannerOptions,
  ) {
    const n = fleet.views.length;
    // Sized now: written at scattered nodes first (victims latest first), an empty array would
    // turn into a dictionary, every later read a hash lookup.
    this.startCandidates = new Array<Candidate[] | undefined>(n);
    this.startRunnable = new Array<Array<Candidate[] | undefined> | undefined>(n);
    this.groupOrder = new Int32Array(fleet.groups.length);
    this.groupFloor = new Float64Array(fleet.groups.length);
    this.groupFirst = new Int32Array(fleet.groups.length);
    this.groupFirstFinish = new Float64Array(fleet.groups.length);
    this.groupSecondFinish = new Float64Array(fleet.groups.length);
    this.groupAllNonNegative = new Uint8Array(fleet.groups.length);
    // The loops over every agent are functions of their own, here and below: in a constructor
    // that runs once per round, the code after an on-stack-replaced loop kept being deoptimized.
    const { bucketOf, keys, largest, sizes } = bucketsOf(fleet);
    const bucketsOfGroup: number[][] = fleet.groups.map(() => []);
    for (let bucket = 0; bucket < keys.length; bucket += 1) bucketsOfGroup[Math.floor(keys[bucket]! / 2 ** 24)]!.push(bucket);
    // Per bucket, its place in its group's GroupThieves: largest capacity first.
    const slotOf = new Int32Array(keys.length);
    // Each node is in one bucket: the buckets share one array of positions.
    const bucketPositions = new Int32Array(n).fill(-1);
    bucketsOfGroup.forEach((ofGroup, group) => {
      if (ofGroup.length === 0) return;
      ofGroup.sort((a, b) => largest[b]! - largest[a]! || keys[a]! - keys[b]!).forEach((bucket, slot) => (slotOf[bucket] = slot));
      const thieves = new GroupThieves<Node>(
        ofGroup.map((bucket) => largest[bucket]!),
        ofGroup.map((bucket) => sizes[bucket]!),
        thiefBefore,
        nodeNumber,
        bucketPositions,
      );
      this.thieves[group] = thieves;
      this.buckets.push(...thieves.buckets);
    });
    this.table = new NodeTable(fleet.views, fleet.caps, fleet.slots, fleet.running, fleet.capacity, fleet.avgMs, fleet.priority, fleet.cpu, fleet.groupOf);
    this.nodes = nodesOf(fleet, this.table, { bucketOf, slotOf }, this.thieves);
    this.orderBucketsLater();
    // Outside a trial each move takes a task of a tail as the round began, which moves once at most.
    this.log = new StealLog(fleet.ids, config.maxStealBatch, Math.min(fleet.tailTasks, MAX_LOG_SIZE_HINT));
    this.budget = this.initialBudget();
    this.walkBudget = this.initialBudget();
    this.spreadMarginMs = Math.max(0, options.marginSpread) * fleet.spreadMs();
  }

  /** Runs the greedy letting tasks move on, for its end state only, then goes back to the start of the round. Returns the end state's drain times, or undefined when nothing moved. */
  trial(): Float64Array | undefined {
    this.relay = true;
    this.run();
    this.relay = false;
    if (this.relayed === 0) return undefined;
    const drains = this.drains();
    // The same nodes and buckets again, as they were: cheaper than building them anew.
    for (const bucket of this.buckets) bucket.clear();
    const table = this.table;
    table.queued.set(this.fleet.queued);
    table.arrived.fill(0);
    table.work.set(this.fleet.work);
    table.gave.fill(0);
    for (let i = 0; i < this.nodes.length; i += 1) {
      const x = this.nodes[i]!;
      table.drain[i] = table.work[i]! / table.capacity[i]!;
      x.tail = this.fleet.tails[i]!;
      x.ownsTail = false;
      x.runnable = undefined;
      x.bucket.append(x);
    }
    this.vetoes = 0;
    this.orderBucketsLater();
    this.budget = this.initialBudget();
    this.walkBudget = this.initialBudget();
    return drains;
  }

  /**
   * The drain times a round heads for, computed directly (levels.ts) from every agent's floor:
   * its drain once it gave every task of its tail worth a move that it can give (tasks wait for a
   * slot, so no more than queued + running − slots; the largest go first; a task no group can run
   * stays). Undefined for a
   * fleet of more capability groups than levelTargets enumerates.
   */
  levels(): Float64Array | undefined {
    const groups = this.fleet.groups;
    if (groups.length > MAX_GROUPS) return undefined;
    const table = this.table;
    const n = this.nodes.length;
    const floor = table.drain.slice();
    const workByGroups = new Float64Array(1 << groups.length);
    const everyGroup = (1 << groups.length) - 1;
    for (let i = 0; i < n; i += 1) {
      const x = this.nodes[i]!;
      if (!this.canGive(x)) continue;
      const all = (this.startCandidates[i] ??= this.weighStart(this.fleet.tails[i]!));
      // A task no agent can run stays (re-registering may take capabilities away from its holder).
      let givable = x.queued + x.running - x.slots;
      let given = 0;
      for (let k = 0; k < all.length && givable > 0; k += 1) {
        const candidate = all[k]!;
        // Levels run for at most MAX_GROUPS groups, within the mask's.
        const mask = candidate.groups & everyGroup;
        if (mask === 0) continue;
        givable -= 1;
        workByGroups[mask] = workByGroups[mask]! + candidate.ms;
        given += candidate.ms;
      }
      floor[i] = (x.work - given) / x.capacity;
    }
    return levelTargets({ drain: table.drain, floor, capacity: table.capacity, groupOf: this.fleet.groupOf, groups: groups.length, workByGroups });
  }

  /**
   * Every bucket's nodes were appended: the greedy orders them when it starts (run), not now. A
   * fill between looks at no heap, and moves most of the buckets' thieves: ordered now, they
   * would be ordered again.
   */
  private orderBucketsLater(): void {
    for (const thieves of this.thieves) if (thieves) for (let slot = 0; slot < thieves.buckets.length; slot += 1) thieves.stale(slot);
  }

  /** Each move lowers the multiset of drain times, so the greedy ends; this only bounds pathological cases. */
  private initialBudget(): number {
    return 4 * this.fleet.tailTasks + this.nodes.length;
  }

  /** Drain time of every alive agent, in id order. */
  drains(): Float64Array {
    return this.table.drain.slice();
  }

  /** A task waits for a slot: no count floor (minTasksToSteal is classic's), the gain test decides. */
  private canGive(x: Node): boolean {
    return x.tail.length > 0 && x.queued + x.running > x.slots;
  }

  /**
   * Whether the greedy keeps x among its victims: it can give, and it has a task that did not
   * arrive this round or may relay one. An agent that held no tail as the round began only ever
   * holds arrivals: outside a trial it has no candidate, and as a victim it would only be looked
   * at to be found stuck (a fill leaves hundreds such). Leaving it out changes no move: the
   * greedy's stop (no thief before the latest victim's bound) holds for a later victim whenever
   * it holds for an earlier one.
   */
  private keptAsVictim(x: Node): boolean {
    return this.canGive(x) && (this.relay || this.fleet.tails[x.index]!.length > 0);
  }

  /**
   * The largest of v's tasks that is worth moving to t, or undefined. The margin is the
   * hysteresis that keeps tasks where they are unless v is clearly behind.
   */
  private eligible(v: Node, t: Node): Candidate | undefined {
    if (v === t || !(t.drain < v.drain) || !this.canGive(v)) return undefined;
    return this.choose(v, t, this.candidatesFor(v, t.group));
  }

  /**
   * The largest candidate of v's (that can give) worth moving to t: it finishes sooner on t than
   * on v by the margins, the latest of the two drains gets sooner, and a task of a raised priority
   * does not leave an agent that would start it no later than t could. The largest, as in longest
   * processing time first: a long task moved early is not left to start last. Worth holds for
   * every task up to some size and for none above (a larger task finishes later on t and gains
   * less): the margins solved for the task's size give that size, a binary search over the
   * candidates (largest first) finds the first below it, and the exact test settles the edge
   * against rounding. t's drain once it holds the task is left in chosenFinish.
   */
  private choose(v: Node, t: Node, candidates: readonly Candidate[]): Candidate | undefined {
    const n = candidates.length;
    // The smallest is not worth it: none is.
    if (n === 0 || !this.worth(v, t, candidates[n - 1]!.ms)) return undefined;
    this.findWorthLimit(v, t);
    const limit = this.worthLimit;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (candidates[mid]!.ms < limit) hi = mid;
      else lo = mid + 1;
    }
    while (lo > 0 && this.worth(v, t, candidates[lo - 1]!.ms)) lo -= 1;
    for (let i = lo; i < n; i += 1) {
      const candidate = candidates[i]!;
      if (!this.worth(v, t, candidate.ms)) continue;
      const p = candidate.priority;
      if (p > 0) {
        const start = this.startOn(v, p, v.tail.indexOf(candidate.task));
        if (start <= this.startOn(t, p, -1)) {
          if (start > 0) this.vetoes += 1;
          continue;
        }
      }
      this.chosenFinish = t.drain + candidate.ms / t.capacity;
      return candidate;
    }
    return undefined;
  }

  /**
   * The size below which a task from v is worth moving to t (worth solved for ms, up to
   * rounding): with gain = v − t − ms/ct once the task would finish later on t than the rest of v,
   * gain > marginTaskFraction × ms × min(1/cv, 1/ct), and v − t − ms/ct > marginFraction × v.
   * Below that point the gain is the task's whole drain time, which passes while
   * marginTaskFraction < 1; otherwise no closed form: Infinity (every candidate is tested). The
   * spread margin does not depend on the task's size: it counts as that much more of t's drain.
   * Left in worthLimit (a returned double would be a heap allocation per call).
   */
  private findWorthLimit(v: Node, t: Node): void {
    const { marginTaskFraction, marginFraction } = this.options;
    if (!(marginTaskFraction >= 0 && marginTaskFraction < 1)) {
      this.worthLimit = Infinity;
      return;
    }
    const thiefDrain = t.drain + this.spreadMargin(t);
    const gainLimit = (v.drain - thiefDrain) / (1 / t.capacity + marginTaskFraction * Math.min(1 / v.capacity, 1 / t.capacity));
    const marginLimit = ((1 - marginFraction) * v.drain - thiefDrain) * t.capacity;
    this.worthLimit = Math.min(gainLimit, marginLimit);
  }

  /**
   * Whether moving a task of `ms` from v to t passes the margins (t then drains at t.drain +
   * ms / t.capacity; the margins weigh it later by spreadMarginMs for each √ of the tasks that
   * would wait for a slot on t, the task included: t may be slower than its average). A boolean,
   * not that drain: a double returned from a call that is not inlined is a heap allocation, and a
   * round makes this test hundreds of thousands of times.
   */
  private worth(v: Node, t: Node, ms: number): boolean {
    const dv = ms / v.capacity;
    const dt = ms / t.capacity;
    const finish = t.drain + dt + this.spreadMargin(t);
    const gain = v.drain - Math.max(v.drain - dv, finish);
    return gain > this.options.marginTaskFraction * Math.min(dv, dt) && v.drain - finish > this.options.marginFraction * v.drain;
  }

  /**
   * How much later the margins weigh a task's finish on t, in ms of drain: spreadMarginMs for each
   * √ of the tasks that would wait for a slot on t, the task included; 0 when it starts at once.
   * A heuristic, not the standard deviation of that finish: k tasks waiting behind s slots wait
   * about k/s runs, which spread σ√(k/s); this divides σ√k by the capacity, as a drain time is.
   */
  private spreadMargin(t: Node): number {
    const waiting = t.queued + t.running + 1 - t.slots;
    return this.spreadMarginMs > 0 && waiting > 0 ? (this.spreadMarginMs * Math.sqrt(waiting)) / t.capacity : 0;
  }

  /**
   * When x would start a task of this priority (larger first, then older first) that sits at
   * `at` in its tail (-1: one arriving now, after all it holds), in ms from now: at once while
   * fewer tasks than slots come before it, else when the work before it is done. Queued tasks
   * outside the tail count as priority 0.
   */
  private startOn(x: Node, priority: number, at: number): number {
    let ahead = x.running;
    let work = x.running * this.fleet.runningMs(x.avgMs);
    const tail = x.tail;
    for (let j = 0; j < tail.length; j += 1) {
      if (j === at) continue;
      const p = tail[j]!.priority ?? 0;
      if (p > priority || (p === priority && j > at)) {
        ahead += 1;
        work += this.fleet.duration(tail[j]!);
      }
    }
    if (priority <= 0) {
      ahead += x.queued - tail.length;
      work += (x.queued - tail.length) * x.avgMs;
    }
    return ahead < x.slots ? 0 : work / x.capacity;
  }

  /**
   * A thief must drain before this for any move from v to be eligible: it finishes v's task no
   * sooner than it drains now, and must then finish more than marginFraction of v's drain sooner.
   */
  private thiefBound(v: Node): number {
    return Math.min(v.drain, (1 - this.options.marginFraction) * v.drain);
  }

  /**
   * The eligible thief that, with its task (left in thiefCandidate), leaves the later of v and it
   * draining earliest (ties: the thief that finishes its task earliest, then earlier, priority,
   * cpu, id).
   */
  private bestThief(v: Node): Node | undefined {
    if (!this.canGive(v)) return undefined;
    this.best = undefined;
    this.bestCandidate = undefined;
    this.bestLatest = Infinity;
    this.bestFinish = Infinity;
    const bound = this.thiefBound(v);
    // Group by group: every bucket of a group chooses among the same tasks of v's. No thief of
    // v's own bucket drains before the bound (they drain no sooner than v), so v is never t.
    // Most moves take v's largest task for the group, so each group's buckets are ranked by when
    // they would finish it first, and the groups are looked at in the order of how early they
    // could leave v and finish that task: once a best is found, the scans of the rest pass over
    // most of their buckets.
    const order = this.groupOrder;
    const floors = this.groupFloor;
    const firstFinishes = this.groupFirstFinish;
    let groups = 0;
    for (let group = 0; group < this.thieves.length; group += 1) {
      const thieves = this.thieves[group];
      if (!thieves || !thieves.anyBefore(bound)) continue;
      const candidates = this.candidatesFor(v, group);
      if (candidates.length === 0) continue;
      const earliest = thieves.earliest;
      const largestMs = candidates[0]!.ms;
      const largestTimes = thieves.timesFor(largestMs);
      let first = -1;
      let firstFinish = Infinity;
      let secondFinish = Infinity;
      let allNonNegative = true;
      for (let slot = 0; slot < earliest.length; slot += 1) {
        const drain = earliest[slot]!;
        if (!(drain < bound)) continue;
        if (drain < 0) allNonNegative = false;
        const finish = drain + largestTimes[slot]!;
        if (!(finish < secondFinish)) continue;
        if (finish < firstFinish) {
          secondFinish = firstFinish;
          first = slot;
          firstFinish = finish;
        } else {
          secondFinish = finish;
        }
      }
      if (first < 0) continue;
      // v once it gives its largest task: no move to a thief of the group leaves it earlier.
      const floor = v.drain - largestMs / v.capacity;
      this.groupFirst[group] = first;
      this.groupSecondFinish[group] = secondFinish;
      this.groupAllNonNegative[group] = allNonNegative ? 1 : 0;
      let at = groups;
      for (; at > 0; at -= 1) {
        const before = order[at - 1]!;
        if (floors[before]! < floor || (floors[before] === floor && firstFinishes[before]! <= firstFinish)) break;
        order[at] = before;
      }
      order[at] = group;
      floors[group] = floor;
      firstFinishes[group] = firstFinish;
      groups += 1;
    }
    for (let k = 0; k < groups; k += 1) {
      const group = order[k]!;
      const floor = floors[group]!;
      // No move to a thief of the group leaves v earlier than its floor: when that is later than
      // the best's, none of them beats the best.
      if (this.best !== undefined && floor > this.bestLatest) continue;
      const thieves = this.thieves[group]!;
      const candidates = this.candidatesFor(v, group);
      const { earliest, capacities } = thieves;
      const smallestMs = candidates[candidates.length - 1]!.ms;
      const first = this.groupFirst[group]!;
      const secondFinish = this.groupSecondFinish[group]!;
      const allNonNegative = this.groupAllNonNegative[group] === 1;
      // Any move must leave t finishing before this (the relative margin): a bucket whose first
      // thief cannot finish even the smallest task before it has no eligible thief (most of the
      // looks of a victim that finds none).
      const marginLimit = v.drain - this.options.marginFraction * v.drain;
      const marginBound = marginLimit + Math.abs(marginLimit) * SLACK + SLACK;
      const smallestLow = smallestMs * (1 - SLACK);
      const smallestLowTimes = thieves.timesFor(smallestLow);
      // To beat the best, t's task must leave v draining no later than bestLatest, so it is at
      // least `need` ms, and t must finish it no later than bestLatest — or, when no task leaves
      // v earlier than bestLatest, no later than bestFinish. The slack keeps rounding on the side
      // of looking. Recomputed when the best changes.
      let need = 0;
      let limit = Infinity;
      let bestSeen: Node | undefined;
      for (let i = -1; i < earliest.length; i += 1) {
        const slot = i < 0 ? first : i;
        const drain = earliest[slot]!;
        if ((i >= 0 && slot === first) || !(drain < bound)) continue;
        const capacity = capacities[slot]!;
        if (drain + smallestLowTimes[slot]! > marginBound) continue;
        if (this.best !== bestSeen) {
          const best = this.best;
          if (best !== undefined) {
            need = Math.max(smallestMs, (v.drain - this.bestLatest) * v.capacity) * (1 - SLACK);
            limit = (floor >= this.bestLatest ? this.bestFinish : this.bestLatest) * (1 + SLACK) + SLACK;
          }
          bestSeen = best;
        }
        if (this.best !== undefined && drain + need / capacity > limit) continue;
        const bucket = thieves.buckets[slot]!;
        const bucketFirst = bucket.first()!;
        const vetoes = this.vetoes;
        this.weighThief(v, bucketFirst, candidates);
        // The priority rule kept a task from the first: a later thief of the bucket may start it
        // sooner, so every thief of the bucket that the drain bounds leave is weighed too (one
        // that drains no sooner than the best's later drain finishes any task after it: none beats it).
        if (this.vetoes !== vetoes)
          bucket.visitWhile(
            (x) =>
              this.walkBudget > 0 &&
              x.drain < bound &&
              x.drain + smallestLow / capacity <= marginBound &&
              (this.best === undefined || x.drain < this.bestLatest),
            (x) => {
              if (x === bucketFirst) return;
              this.walkBudget -= 1;
              this.weighThief(v, x, candidates);
            },
          );
        // The best leaves v at its floor and finishes sooner than any other bucket could finish
        // the largest task: every other bucket would be passed over (their bound is at least
        // their finish of the largest task, less the slack, while drains are not negative, which
        // only a negative default duration makes them), so the scan is skipped. (The priority
        // rule only takes moves away, so it cannot make another bucket beat that best.)
        if (
          i < 0 &&
          allNonNegative &&
          this.best !== undefined &&
          floor >= this.bestLatest &&
          secondFinish * (1 - 4 * SLACK) > this.bestFinish * (1 + SLACK) + SLACK
        )
          break;
      }
    }
    this.thiefCandidate = this.bestCandidate;
    return this.best;
  }

  /** t's best move of v's candidates, kept as the best thief when it leaves the later of the two draining earlier (bestThief's order). */
  private weighThief(v: Node, t: Node, candidates: readonly Candidate[]): void {
    const candidate = this.choose(v, t, candidates);
    if (!candidate) return;
    // Ranked on t's expected finish, without the spread margin: the margin asks whether the task
    // is surely sooner on t, while the ranking and the projection the greedy goes on with are of
    // where drains are expected to end up.
    const finish = this.chosenFinish;
    const latest = Math.max(v.drain - candidate.ms / v.capacity, finish);
    const best = this.best;
    if (
      !best ||
      latest < this.bestLatest ||
      (latest === this.bestLatest && (finish < this.bestFinish || (finish === this.bestFinish && earliestFirst(t, best) < 0)))
    ) {
      this.best = t;
      this.bestCandidate = candidate;
      this.bestLatest = latest;
      this.bestFinish = finish;
    }
  }

  /** Whether any thief drains before the bound (v never does: the bound is below its drain). */
  private anyThiefBefore(bound: number): boolean {
    for (const thieves of this.thieves) if (thieves?.anyBefore(bound)) return true;
    return false;
  }

  /** Moves one of v's candidates to t and projects it. False when the move budget is spent. */
  private move(v: Node, t: Node, candidate: Candidate): boolean {
    if (this.budget < 1) return false;
    this.budget -= 1;
    const drains = this.moveDrains;
    drains[BEFORE_SOURCE] = v.drain;
    drains[BEFORE_TARGET] = t.drain;
    const task = moveAt(v, t, v.tail.indexOf(candidate.task));
    v.gave = true;
    v.work -= candidate.ms;
    t.work += candidate.ms;
    v.drain = v.work / v.capacity;
    t.drain = t.work / t.capacity;
    // A trial's moves are not directives: only its end state is kept.
    if (this.relay) this.relayed += 1;
    else {
      drains[AFTER_SOURCE] = v.drain;
      drains[AFTER_TARGET] = t.drain;
      this.log.record(v.index, t.index, task.id, drains);
    }
    // The candidate lists follow the move instead of being weighed again (a round may make ten
    // thousand moves): the task leaves v's; while relaying, it joins t's as t's newest.
    const given = v.runnable;
    if (given) {
      for (let group = 0; group < given.length; group += 1) {
        const candidates = given[group];
        // A list that groups share (weigh) loses the task once.
        if (candidates && given.indexOf(candidates) === group) removeTask(candidates, candidate);
      }
    }
    // t held no task before: its lists start empty and get this candidate below, where weigh would
    // look the task up again (in a trial most thieves start empty, and a thief given a task may give it on).
    if (this.relay && !t.runnable && t.tail.length === 1) t.runnable = this.fleet.groups.map(() => []);
    const taken = t.runnable;
    if (this.relay && taken) {
      for (let group = 0; group < taken.length; group += 1) {
        const candidates = taken[group];
        if (candidates && canRun(this.fleet.groups[group]!, task.requiredCapabilities)) insertNewest(candidates, candidate);
      }
    }
    // A fill looks at no heap: the buckets it changed are ordered anew once, when the greedy starts.
    if (this.filling) {
      this.thieves[v.group]!.stale(v.slot);
      this.thieves[t.group]!.stale(t.slot);
      return true;
    }
    v.bucket.update(v);
    t.bucket.update(t);
    this.thieves[v.group]!.refresh(v.slot);
    this.thieves[t.group]!.refresh(t.slot);
    return true;
  }

  /**
   * The greedy to a fixed point: the latest-draining victim gives its next task to the thief that
   * would finish it earliest, until no eligible move is left anywhere.
   */
  run(): void {
    // The buckets a fill changed, or every bucket at the start of a pass, in order.
    for (const thieves of this.thieves) thieves?.restore();
    const victims = new IndexedHeap<Node>(victimBefore, nodeNumber, this.nodes.length);
    const stuck = new StuckVictims(this.nodes.length);
    // Outside a trial only the agents that held a tail as the round began can be victims
    // (keptAsVictim): the others' nodes are not read.
    const tails = this.fleet.tails;
    for (let i = 0; i < this.nodes.length; i += 1)
      if ((this.relay || tails[i]!.length > 0) && this.keptAsVictim(this.nodes[i]!)) victims.insert(this.nodes[i]!);
    for (let v = victims.first(); v; v = victims.first()) {
      const t = this.bestThief(v);
      // No thief drains early enough for the latest victim: none does for any other (they drain
      // no later, and stuck ones stay stuck while nothing moves). A balanced fleet ends here at once.
      if (!t && !this.anyThiefBefore(this.thiefBound(v))) return;
      if (!t) {
        victims.remove(v);
        stuck.add(v, this.groupsWithTask(v));
        continue;
      }
      if (!this.move(v, t, this.thiefCandidate!)) return;
      // Re-placed where they stay victims (one sift each, not a removal and an insertion).
      if (this.canGive(v)) victims.update(v);
      else victims.remove(v);
      // t changed as a victim; v, now earlier, changed as a thief: only victims stuck for want
      // of a thief can have been unblocked, and only by v. When v is neither of its bucket's
      // first two, one of those (not the stuck victim itself) drains no later than v, so any
      // task worth moving to v would be worth moving to it, and none was: none is to v (unless
      // the priority rule applied: v may start a task sooner than they would). Nor can a stuck victim that has no
      // task for v's group, or that drains too early for v to be a thief (thiefBound).
      stuck.delete(t);
      if (!this.keptAsVictim(t)) victims.remove(t);
      else if (victims.has(t)) victims.update(t);
      else victims.insert(t);
      if (this.vetoes === 0 && v.bucket.first() !== v && v.bucket.second() !== v) continue;
      for (const x of stuck.unblockedBy(
        v,
        (x) => this.thiefBound(x) > v.drain,
        (x) => this.eligible(x, v) !== undefined,
      ))
        victims.insert(x);
    }
  }

  /** The capability groups that v has a task for (one that did not arrive this round, unless relaying). */
  private groupsWithTask(v: Node): number[] {
    const groups: number[] = [];
    for (let g = 0; g < this.fleet.groups.length; g += 1) if (this.candidatesFor(v, g).length > 0) groups.push(g);
    return groups;
  }

  /**
   * Moves towards target drain times (from a trial run), victim by victim and thief by thief, so
   * that each pair gets one directive instead of interleaved single moves. Every move is eligible.
   * `fluid`: the targets are levels (levels()), not a trial's end state. `skipping`: whether looks
   * that would move nothing are cut short (bounds, largest tasks, fillSkips) — they must not change
   * the plan, and the tests compare the fill with and without them.
   */
  fillTowards(targets: Float64Array, fluid: boolean, skipping = true): void {
    this.filling = true;
    this.fill(targets, fluid, fluid ? this.fastestInGroup() : this.table.capacity, skipping);
    this.filling = false;
  }

  /**
   * Per agent, its capability group's largest capacity. Level targets treat work as a fluid: a
   * slow agent's level is where the group's work would end, not where a whole task of it would.
   * Measured in its own time, half a large task past its level can end after every other agent
   * (and the greedy that finishes the round never moves an arrived task again), so on the level
   * path the half task a thief may end past its target is measured at its group's fastest speed.
   */
  private fastestInGroup(): Float64Array {
    const groupOf = this.fleet.groupOf;
    const capacity = this.table.capacity;
    const fastest = new Float64Array(this.fleet.groups.length);
    for (let i = 0; i < this.nodes.length; i += 1) fastest[groupOf[i]!] = Math.max(fastest[groupOf[i]!]!, capacity[i]!);
    // Loops, not Float64Array.from with a mapping: that goes through the iterator protocol, an object per element.
    const result = new Float64Array(groupOf.length);
    for (let i = 0; i < groupOf.length; i += 1) result[i] = fastest[groupOf[i]!]!;
    return result;
  }

  /** `overshootCapacity`: per agent, the capacity at which the half task it may end past its target is measured. */
  private fill(targets: Float64Array, fluid: boolean, overshootCapacity: Float64Array, skipping: boolean): void {
    // Chosen on the table's arrays: most nodes are neither, and are not read.
    const drain = this.table.drain;
    // Counted first, then sized at once: pushed one by one, thousands of thieves were copied as the array grew.
    let victimCount = 0;
    let thiefCount = 0;
    for (let i = 0; i < drain.length; i += 1) {
      if (targets[i]! < drain[i]!) victimCount += 1;
      else if (targets[i]! > drain[i]!) thiefCount += 1;
    }
    const victims = new Array<Node>(victimCount);
    const thieves = new Array<Node>(thiefCount);
    victimCount = 0;
    thiefCount = 0;
    for (let i = 0; i < drain.length; i += 1) {
      if (targets[i]! < drain[i]!) victims[victimCount++] = this.nodes[i]!;
      else if (targets[i]! > drain[i]!) thieves[thiefCount++] = this.nodes[i]!;
    }
    victims.sort(latestFirst);
    thieves.sort(earliestFirst);
    const startDrains = new Float64Array(thieves.length);
    const thiefGroups = new Int32Array(thieves.length);
    for (let i = 0; i < thieves.length; i += 1) {
      startDrains[i] = thieves[i]!.drain;
      thiefGroups[i] = thieves[i]!.group;
    }
    // Targets are read from the typed array where they are used, not through a function: a
    // double returned from a call that is not inlined is a heap allocation, per move here.
    const shortestTaskMs = this.fleet.shortestTaskMs;
    // Per group, v's largest task for it (-1: none, or v cannot give), kept up as v gives: most
    // looks at a thief end at its test (largest), without fillSkips.
    const largest = new Float64Array(this.fleet.groups.length);
    const raised = this.fleet.raisedPriorities;
    // Taking v's largest task for t's group or nothing (below), the fill passes over every thief
    // without room for that task: the walks stop only at thieves with room for it.
    const byLargest = skipping && fluid && !raised;
    const order = new FillThieves(thieves.length, byLargest ? { groupOf: thiefGroups, groups: largest.length } : undefined);
    for (let i = 0; i < thieves.length; i += 1)
      order.keep(i, this.largestFitting(thieves[i]!, targets[thieves[i]!.index]!, 2 * overshootCapacity[thieves[i]!.index]!));
    for (let k = 0; k < victims.length; k += 1) {
      const v = victims[k]!;
      const victimTarget = targets[v.index]!;
      this.largestTasks(v, largest);
      // Victims come latest first and only change when their turn comes: a thief that drains no
      // sooner than this one does now can take from none of the rest either.
      const start = v.drain;
      for (let i = order.next(0, largest); i >= 0; i = order.next(i + 1, largest)) {
        const t = thieves[i]!;
        const thiefTarget = targets[t.index]!;
        const halfCapacity = 2 * overshootCapacity[t.index]!;
        // A victim at its target gives no more; a thief at its target takes no more (each move
        // would overshoot by more than half a task).
        if (v.drain <= victimTarget) break;
        // Thieves come in the order of their drains as the fill began, and drains only grow: from
        // one that drained no sooner than v's thief bound, none is eligible.
        const bound = this.thiefBound(v);
        if (skipping && startDrains[i]! > bound + Math.abs(bound) * SLACK + SLACK) break;
        const largestMs = largest[t.group]!;
        if (
          (skipping && largestMs < 0) ||
          !(t.drain < v.drain) ||
          (skipping && !raised && this.overshoots(t, thiefTarget, halfCapacity, largestMs) && this.worth(v, t, largestMs)) ||
          // On levels, t takes v's largest for it or nothing (below).
          (skipping && fluid && !raised && (this.overshoots(t, thiefTarget, halfCapacity, largestMs) || !this.worth(v, t, largestMs))) ||
          (skipping && this.fillSkips(v, t, thiefTarget, halfCapacity))
        ) {
          if (this.roomBelow(t, thiefTarget, halfCapacity, shortestTaskMs, fluid && !raised)) order.drop(i);
          continue;
        }
        for (;;) {
          const candidate = this.eligible(v, t);
          if (!candidate) break;
          const ms = candidate.ms;
          const dv = ms / v.capacity;
          if (this.chosenFinish > thiefTarget + ms / halfCapacity || v.drain - dv < victimTarget - dv / 2) break;
          // Levels: longest processing time first, strictly. A thief that may take only a smaller
          // task than v's largest for it takes none from v here: had v given the smaller ones
          // first, its large task could be left with no thief it is worth a move to.
          if (fluid && ms < largest[t.group]!) break;
          if (!this.move(v, t, candidate)) return;
          this.largestTasks(v, largest);
        }
        // Done: it drains no sooner than this victim started, or has less room than half the
        // shortest task in any tail. Thieves only grow later and starts only get earlier: a
        // thief that is done stays done.
        if (t.drain >= start || this.roomBelow(t, thiefTarget, halfCapacity, shortestTaskMs, fluid && !raised)) order.drop(i);
        else order.keep(i, this.largestFitting(t, thiefTarget, halfCapacity));
      }
    }
  }

  /**
   * Whether t has less room than the shortest task in any tail, so that no victim can give it
   * one (a thief that is done stays done: see the fill). On levels without raised priorities,
   * where the walks may stop only at thieves with room for a victim's largest task, the room is
   * the one those stops use, `largestFitting`, generous by a margin: a thief within rounding of
   * half the shortest task can still be handed one by the exact tests, and dropping it there (as
   * the plain half-task bound does) would make the plan depend on which victims passed over it
   * before, with the skips or without them.
   */
  private roomBelow(t: Node, thiefTarget: number, halfCapacity: number, shortestTaskMs: number, onLevels: boolean): boolean {
    const room = onLevels ? this.largestFitting(t, thiefTarget, halfCapacity) : 2 * t.capacity * (thiefTarget - t.drain);
    return room < shortestTaskMs;
  }

  /**
   * The largest task t could take without overshooting (ending past its target by more than
   * half of the task, as `overshoots` has it), a little more: no rounding of that test makes a
   * task fit that this says does not. Where overshoots compares t.drain + ms/c − (target +
   * ms/h) with (|target| + ms/c) × SLACK, this solves it for ms (h ≥ 2c, so ms/c − ms/h grows
   * with ms), with a margin of SLACK on every term, a million times their rounding errors.
   */
  private largestFitting(t: Node, thiefTarget: number, halfCapacity: number): number {
    const room = thiefTarget - t.drain + (Math.abs(thiefTarget) + Math.abs(t.drain) + 1) * 2 * SLACK;
    // No room: no task of any size fits (every task takes more than 0 ms).
    if (!(room > 0)) return 0;
    const perMs = (1 - SLACK) / t.capacity - 1 / halfCapacity;
    return room / (perMs * (1 - SLACK));
  }

  /** Per group, v's largest task for it, or -1 when it has none or cannot give (fillSkips's first tests, per victim instead of per thief). */
  private largestTasks(v: Node, largest: Float64Array): void {
    const giving = this.canGive(v);
    for (let g = 0; g < largest.length; g += 1) {
      const candidates = giving ? this.candidatesFor(v, g) : undefined;
      largest[g] = candidates && candidates.length > 0 ? candidates[0]!.ms : -1;
    }
  }

  /**
   * Whether the fill would take nothing from v for t, found without choose: v can give t nothing
   * (no task of v's for t's group, or t drains no sooner), or some task of v's for it is worth
   * the move and would take t past its target by more than half of itself (beyond rounding), so
   * that the largest worth the move, the one eligible chooses, would too. Most of a fill's looks
   * are these: a thief with room left for a small task, but not for a victim's largest, is looked
   * at again by every victim. The second test only while no tail task has a raised priority:
   * choose counts the priority rule's vetoes, which the greedy's run then reads.
   */
  private fillSkips(v: Node, t: Node, thiefTarget: number, halfCapacity: number): boolean {
    if (!(t.drain < v.drain) || !this.canGive(v)) return true;
    const candidates = this.candidatesFor(v, t.group);
    if (candidates.length === 0) return true;
    if (this.fleet.raisedPriorities) return false;
    // Largest first: the tasks that overshoot are a prefix, and worth holds for every task up to
    // some size, so when the largest is worth the move, so is every other (the common case).
    const largest = candidates[0]!.ms;
    if (!this.overshoots(t, thiefTarget, halfCapacity, largest)) return false;
    if (this.worth(v, t, largest)) return true;
    // Of the prefix, the last is the likeliest worth the move.
    let lo = 0;
    let hi = candidates.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.overshoots(t, thiefTarget, halfCapacity, candidates[mid]!.ms)) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && this.worth(v, t, candidates[lo - 1]!.ms);
  }

  /** Whether a task of `ms` takes t past its target by more than half of itself (ms / halfCapacity), beyond rounding. */
  private overshoots(t: Node, thiefTarget: number, halfCapacity: number, ms: number): boolean {
    const dt = ms / t.capacity;
    return t.drain + dt - (thiefTarget + ms / halfCapacity) > (Math.abs(thiefTarget) + dt) * SLACK;
  }

  private candidatesFor(v: Node, group: number): readonly Candidate[] {
    if (v.runnable === undefined) {
      v.runnable = [];
      // The tail as the round began (no task arrived, none left): every group's list is
      // filtered from it now, before a move makes it a copy that weigh would weigh anew.
      if (v.tail === this.fleet.tails[v.index]!) for (let g = 0; g < this.fleet.groups.length; g += 1) v.runnable[g] = this.weigh(v, g);
    }
    let candidates = v.runnable[group];
    if (candidates === undefined) v.runnable[group] = candidates = this.weigh(v, group);
    return candidates;
  }

  /**
   * Every task in v's tail that a thief of the group can run, weighed on its own, largest first,
   * then the ones that moved fewest times before (a task stolen in an earlier round is the newest
   * of its queue, and taking it again would move it twice), then newest: directives name their
   * tasks, so any of them can move, not only the newest.
   * A task expected to take less than minTaskMs is not worth a move; nor is one that arrived by a
   * move of this round (the newest of v's tail), unless relaying.
   */
  private weigh(v: Node, group: number): Candidate[] {
    const caps = this.fleet.groups[group]!;
    const tail = v.tail;
    const start = this.fleet.tails[v.index]!;
    // The tail as the round began, or (when tasks that arrived are no candidates) with only
    // arrivals before it: its tasks are weighed and ordered once for every group and pass, and
    // filtering keeps the order.
    if (tail === start || (!this.relay && !v.gave && tail.length === start.length + v.arrived)) {
      const byGroup = (this.startRunnable[v.index] ??= []);
      let runnable = byGroup[group];
      if (runnable === undefined) {
        const all = (this.startCandidates[v.index] ??= this.weighStart(start));
        const masked = this.fleet.groups.length <= MASKED_GROUPS;
        let kept = 0;
        if (masked) {
          for (let i = 0; i < all.length; i += 1) kept += (all[i]!.groups >> group) & 1;
        } else {
          for (let i = 0; i < all.length; i += 1) if (canRun(caps, all[i]!.task.requiredCapabilities)) kept += 1;
        }
        // Outside a trial, groups that can run every candidate of v's share one list: no task
        // has left v yet (this path), and a move takes its task out of each of v's lists, so
        // theirs stay the same. (A trial inserts arrivals group by group: its lists stay apart.)
        if (!this.relay && kept === all.length) {
          const shared = everyCandidate(v.runnable, all.length);
          if (shared) return shared;
        }
        // Sized at once: filtered in a copy of every candidate, a list kept its whole length.
        runnable = byGroup[group] = new Array<Candidate>(kept);
        kept = 0;
        if (masked) {
          for (let i = 0; i < all.length; i += 1) if (((all[i]!.groups >> group) & 1) === 1) runnable[kept++] = all[i]!;
        } else {
          for (let i = 0; i < all.length; i += 1) if (canRun(caps, all[i]!.task.requiredCapabilities)) runnable[kept++] = all[i]!;
        }
      }
      // Moves change the list they are given. A trial's pass is followed by the real one, which
      // starts from this list again: the trial gets a copy. Otherwise the list is handed over and
      // forgotten (a later look would filter it anew), not copied: a round at 10,000 agents
      // weighs hundreds of victims' lists.
      if (this.relay) return runnable.slice();
      byGroup[group] = undefined;
      return runnable;
    }
    const candidates: Candidate[] = [];
    for (let i = this.relay ? 0 : v.arrived; i < tail.length; i += 1) {
      const task = tail[i]!;
      if (!canRun(caps, task.requiredCapabilities)) continue;
      let candidate = this.weighed.get(task);
      if (candidate === undefined) this.weighed.set(task, (candidate = this.candidateOf(task)));
      if (candidate) candidates.push(candidate);
    }
    // Stable: among equals, the tail's order, newest first.
    return sortLargerFirst(candidates);
  }

  /** Every task of a tail as the round began that is worth a move, in weigh's order. */
  private weighStart(tail: readonly TaskSummary[]): Candidate[] {
    // Sized for the whole tail, then cut to length (in place): pushed one by one, the list was copied as it grew.
    const candidates = new Array<Candidate>(tail.length);
    let kept = 0;
    for (let i = 0; i < tail.length; i += 1) {
      const candidate = this.candidateOf(tail[i]!);
      if (candidate) candidates[kept++] = candidate;
    }
    candidates.length = kept;
    return sortLargerFirst(candidates);
  }

  /** The task as a candidate, or null when it is not worth a move (shorter than minTaskMs). */
  private candidateOf(task: TaskSummary): Candidate | null {
    const ms = this.fleet.duration(task);
    if (!(ms > 0 && ms >= this.options.minTaskMs)) return null;
    return { task, ms, priority: task.priority ?? 0, epoch: task.epoch ?? 1, groups: this.groupsThatRun(task.requiredCapabilities) };
  }

  /** Candidate.groups for a task requiring these capabilities. */
  private groupsThatRun(required: readonly string[]): number {
    const groups = this.fleet.groups;
    if (required.length === 0 || groups.length > MASKED_GROUPS) return -1;
    let mask = 0;
    for (let g = 0; g < groups.length; g += 1) if (canRun(groups[g]!, required)) mask |= 1 << g;
    return mask;
  }
}

/**
 * Victims stuck for want of a thief, in one heap per capability group they have a task for,
 * latest first: a thief of group g can only unblock those in g's heap, and only the ones that
 * drain late enough, which come first.
 */
class StuckVictims {
  private readonly byGroup: Array<IndexedHeap<Node> | undefined> = [];
  private readonly groupsOf = new Map<Node, readonly number[]>();

  constructor(private readonly capacity: number) {}

  add(x: Node, groups: readonly number[]): void {
    this.groupsOf.set(x, groups);
    for (const g of groups) {
      let heap = this.byGroup[g];
      if (!heap) this.byGroup[g] = heap = new IndexedHeap<Node>(victimBefore, nodeNumber, this.capacity);
      heap.insert(x);
    }
  }

  delete(x: Node): void {
    const groups = this.groupsOf.get(x);
    if (!groups) return;
    this.groupsOf.delete(x);
    for (const g of groups) this.byGroup[g]!.remove(x);
  }

  /**
   * Removes and returns the stuck victims of t's group that t unblocks, looking only at those for
   * which `lateEnough` holds (true for a prefix of the heap's order: the latest ones).
   */
  unblockedBy(t: Node, lateEnough: (x: Node) => boolean, unblocked: (x: Node) => boolean): Node[] {
    const heap = this.byGroup[t.group];
    const first = heap?.first();
    if (!heap || !first || !lateEnough(first)) return [];
    const freed: Node[] = [];
    const still: Node[] = [];
    for (let x = heap.first(); x && lateEnough(x); x = heap.first()) {
      heap.remove(x);
      (unblocked(x) ? freed : still).push(x);
    }
    for (const x of still) heap.insert(x);
    for (const x of freed) this.delete(x);
    return freed;
  }
}

/** Of a node's lists (Node.runnable), one that holds every one of its `count` candidates, if any. */
function everyCandidate(lists: ReadonlyArray<Candidate[] | undefined> | undefined, count: number): Candidate[] | undefined {
  if (!lists) return undefined;
  for (let g = 0; g < lists.length; g += 1) if (lists[g]?.length === count) return lists[g];
  return undefined;
}

/** Larger first, then fewer moves before (the tail's order, newest first, decides among equals). */
function largerFirst(a: Candidate, b: Candidate): number {
  return b.ms - a.ms || a.epoch - b.epoch;
}

/**
 * A stable sort by largerFirst, in place: an insertion sort, as a tail holds at most
 * 4 × maxStealBatch tasks and Array.prototype.sort allocates a work array per call (a round
 * weighs thousands of lists).
 */
function sortLargerFirst(candidates: Candidate[]): Candidate[] {
  for (let i = 1; i < candidates.length; i += 1) {
    const candidate = candidates[i]!;
    let j = i - 1;
    for (; j >= 0 && largerFirst(candidates[j]!, candidate) > 0; j -= 1) candidates[j + 1] = candidates[j]!;
    candidates[j + 1] = candidate;
  }
  return candidates;
}

/**
 * Removes the candidate's task, in place (without splice's array of removed items: a round may
 * make ten thousand moves). Lists are in weigh's order and the task's candidate, weighed the same
 * in every list, sits among those equal to it: a binary search finds them, instead of a scan
 * past every larger task.
 */
function removeTask(candidates: Candidate[], candidate: Candidate): void {
  // The largest usually moves first, and the lists of one node mostly share their candidates
  // (filtered from one weighed tail): the first is looked at before any search.
  if (candidates[0] === candidate) {
    // V8 shifts a small array's front off in place, without copying the rest.
    candidates.shift();
    return;
  }
  const task = candidate.task;
  let i = firstNotBefore(candidates, candidate);
  while (i < candidates.length && candidates[i]!.task !== task && largerFirst(candidates[i]!, candidate) === 0) i += 1;
  if (i === candidates.length || candidates[i]!.task !== task) return;
  // The largest usually moves first: V8 shifts a small array's front off in place, without copying the rest.
  if (i === 0) {
    candidates.shift();
    return;
  }
  for (let j = i + 1; j < candidates.length; j += 1) candidates[j - 1] = candidates[j]!;
  candidates.pop();
}

/** Inserts a task that just became the newest of its queue: before every candidate it does not come after. */
function insertNewest(candidates: Candidate[], candidate: Candidate): void {
  const i = firstNotBefore(candidates, candidate);
  candidates.push(candidate);
  for (let j = candidates.length - 1; j > i; j -= 1) candidates[j] = candidates[j - 1]!;
  candidates[i] = candidate;
}

/** The position of the first candidate that does not come before this one in weigh's order (the list is in that order). */
function firstNotBefore(candidates: readonly Candidate[], candidate: Candidate): number {
  let lo = 0;
  let hi = candidates.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (largerFirst(candidates[mid]!, candidate) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function nodeNumber(x: Node): number {
  return x.index;
}

/** Victims: later first, then id (nodes are numbered in id order). */
function latestFirst(a: Node, b: Node): number {
  return compareNumbers(b.drain, a.drain) || a.index - b.index;
}

/** Thieves: earlier first, then higher priority, lower cpu, id (nodes are numbered in id order). */
function earliestFirst(a: Node, b: Node): number {
  return compareNumbers(a.drain, b.drain) || compareNumbers(b.priority, a.priority) || compareNumbers(a.cpu, b.cpu) || a.index - b.index;
}

/** The heaps' orders, as module functions shared by every heap of a round (not a closure per heap). */
function thiefBefore(a: Node, b: Node): boolean {
  return earliestFirst(a, b) < 0;
}

function victimBefore(a: Node, b: Node): boolean {
  return latestFirst(a, b) < 0;
}
