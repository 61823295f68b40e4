import type { Logger } from "pino";
import { cleanReason, effectsOf, type ParsedEntry, parseEventEntry, taskFiguresOf, type WorkstealEvent } from "@worksteal/protocol";
import { performance } from "node:perf_hooks";
import {
  errorSummary,
  type FoldEntry,
  flushWrites,
  type FoldResult,
  type OwnFoldResult,
  readFoldBatch,
  type RedisConnection,
  type Store,
  type StreamEntry,
} from "@worksteal/store";
import type { ReplicaMetrics } from "./metrics.js";

/** Validates entries and computes their effects; malformed ones become dead letters with a reason. */
export function toFoldEntries(entries: StreamEntry[]): FoldEntry[] {
  return entries.map((entry) => toFoldEntry(entry, parseEventEntry(entry[1])));
}

function toFoldEntry([rawId]: StreamEntry, parsed: ParsedEntry): FoldEntry {
  const id = rawId.toString();
  return parsed.ok ? { id, ...effectsOf(parsed.event) } : { id, dead: parsed.reason };
}

const NO_RESULT: FoldResult = { applied: 0, deadLettered: 0, alreadyFolded: 0 };
const add = (a: FoldResult, b: FoldResult): FoldResult => ({
  applied: a.applied + b.applied,
  deadLettered: a.deadLettered + b.deadLettered,
  alreadyFolded: a.alreadyFolded + b.alreadyFolded,
});

/**
 * The fold script refused this batch by its own checks (its `fold: ARGV[i] …` errors, raised
 * before the cursor moves): retrying the same batch fails again, so the caller splits it. Any other
 * error reply passes, the batch to be retried whole: BUSY, LOADING, READONLY after a failover, a
 * lost connection, and also errors a redis.call inside the script raises (OOM, READONLY), which
 * Redis reports with "on @user_script:N" too but which say nothing of the entries.
 */
export function isFoldRefusal(error: unknown): boolean {
  return (error as Error | undefined)?.name === "ReplyError" && /^ERR user_script:\d+: fold: ARGV\[/.test((error as Error).message);
}

/**
 * Folds a batch that follows the cursor `after`; if Redis refuses the script for it, folds each
 * half on its own (the second after the first's last entry), down to the one entry that cannot
 * be folded, which is dead-lettered with the refusal as its reason. One poison entry therefore
 * never holds back the good ones read with it. (The fold script refuses a batch before it moves
 * the cursor; after that nothing in it can fail.)
 */
export async function foldSplitting(store: Store, entries: FoldEntry[], after: string, log: Logger): Promise<FoldResult> {
  if (entries.length === 0) return NO_RESULT;
  try {
    return await store.fold(entries, after);
  } catch (error) {
    if (!isFoldRefusal(error)) throw error;
    if (entries.length === 1) {
      const entry = entries[0]!;
      const reason = cleanReason(`fold script refused the entry: ${(error as Error).message}`);
      log.warn({ id: entry.id, error: errorSummary(error) }, "entry cannot be folded; dead-lettering it");
      return store.fold([{ id: entry.id, dead: reason }], after);
    }
    const half = Math.ceil(entries.length / 2);
    const first = await foldSplitting(store, entries.slice(0, half), after, log);
    return add(first, await foldSplitting(store, entries.slice(half), entries[half - 1]!.id, log));
  }
}

/** How long the fold loop blocks on a read (or waits for the lease), and pauses after a short batch, ms. */
export interface FoldTiming {
  blockMs: number;
  coalesceMs: number;
}

/** The longest read: stopping is never slower than this. */
const MAX_FOLD_BLOCK_MS = 500;
/**
 * After a short batch, the loop waits up to this long before reading again so that events are
 * folded in larger batches: one fold call per few hundred events, not per event. Planning reads
 * queue counts from BullMQ itself, so this lag only delays the figures people read.
 */
const MAX_FOLD_COALESCE_MS = 100;

/**
 * The fold loop's timing for a lease: the lease is extended once a third of it has passed, so a
 * turn of the loop (read, fold, pause) must fit in the other two thirds with room for the fold
 * itself: read and pause take at most a third together (3 × (block + coalesce) ≤ leaseMs).
 */
export function foldTimingOf(leaseMs: number): FoldTiming {
  const coalesceMs = Math.min(MAX_FOLD_COALESCE_MS, Math.floor(leaseMs / 10));
  const blockMs = Math.max(1, Math.min(MAX_FOLD_BLOCK_MS, Math.floor(leaseMs / 3) - coalesceMs));
  return { blockMs, coalesceMs };
}

export interface EventFolderOptions {
  /** This replica's id: the fold lease names it. */
  replicaId: string;
  batchSize: number;
  /** The fold lease's time to live: a dead folder is replaced within it. */
  leaseMs: number;
  /** Told of every batch folded, to count it and observe the latencies its events carry. */
  metrics?: Pick<ReplicaMetrics, "folded">;
}

/**
 * Fast-path calls in Redis's queue at once while they come back full: when one ends, the next is
 * already there, and Redis does not wait for this process between them (a reply's round trip and
 * its handling here cost about a quarter of a call's time). More measured no faster.
 */
const FAST_CALLS_IN_FLIGHT = 2;
/** Fast-path calls one run makes at most while they come back full; then the fold loop turns (and extends the lease when due). */
export const FAST_CALLS_PER_RUN = 16;

/** What a run of fast-path calls folded: `last` is the last reply, undefined when a call found the cursor moved or missing. */
interface FastRun {
  applied: number;
  last: OwnFoldResult | undefined;
}

/** Entries dead-lettered as invalid here that one foldNew's log itemises; the rest are counted. */
const ITEMISED_DEAD_LETTERS = 5;

/** What one foldNew dead-lettered: the first few invalid here (itemised in the log), how many were invalid here, and how many in all. */
interface DeadLetterTally {
  itemised: Array<Extract<FoldEntry, { dead: string }>>;
  invalid: number;
  deadLettered: number;
}

/**
 * Folds the event stream from the fold cursor, while this replica holds the fold lease (one
 * replica folds at a time; the others wait for the lease to lapse). Exactness does not rest on the
 * lease: each script call applies only entries after the cursor and moves the cursor past them in
 * the same atomic step (foldOwn-3.lua, fold-4.lua), so no entry is applied twice. A slow run, read
 * here, is folded by a compare-and-set on the cursor: read by a replica that lost the lease, or
 * retried, or replayed, it applies nothing. A fast call pipelined behind another folds from wherever
 * the cursor stands: one left in flight by a replica that lost the lease, or sent again by ioredis
 * after a lost reply, folds the next entries, each still once (its figures are then missing from
 * this replica's metrics: an undercount, never a double count).
 *
 * Two paths. The fast one (store.foldOwn) folds the marked task events that follow the cursor
 * inside Redis, this process reading none of them: the task scripts wrote them, and their markers
 * prove it. It stops at anything else; that entry, with what follows it up to the next 8 task
 * events in a row, is the slow path's: read here, validated (zod), dead-lettered with its reason or folded by fold-4.lua.
 */
export class EventFolder {
  /** The cursor the next run folds after; undefined until read from Redis (and after a fold found it moved). */
  private cursor: string | undefined;
  /** When the lease was last taken or extended (monotonic clock, ms); undefined while not held. */
  private leaseHeldAt: number | undefined;

  constructor(
    private readonly store: Store,
    /** A connection of its own: XREAD BLOCK holds it. */
    private readonly blocking: RedisConnection,
    private readonly options: EventFolderOptions,
    private readonly log: Logger,
  ) {}

  /** Makes the fold cursor if missing (see foldCursor-2.lua): status and trimming read it. The first fold starts from it. */
  async ensureCursor(): Promise<void> {
    this.cursor = (await this.store.foldCursor()).id;
  }

  /**
   * Folds at least a batch (`batchSize` entries) after the cursor if there are that many, fast
   * runs (up to FAST_CALLS_PER_RUN batches, pipelined, while a backlog keeps them full) and the
   * slow runs between them; returns how many entries it folded (0 also while another
   * replica holds the fold lease: it then waits up to `blockMs` for the lease to lapse). When
   * nothing follows the cursor, waits up to `blockMs` for an entry (XREAD BLOCK, the one entry
   * read only to wake) and folds what came.
   */
  async foldNew(blockMs: number): Promise<number> {
    if (!(await this.holdLease(blockMs))) return 0;
    const { batchSize } = this.options;
    let folded = 0;
    let waited = false;
    const deadLetters: DeadLetterTally = { itemised: [], invalid: 0, deadLettered: 0 };
    try {
      while (folded < batchSize) {
        const after = (this.cursor ??= (await this.store.foldCursor()).id);
        const { applied, last: own } = await this.foldFastRun(after);
        folded += applied;
        if (own === undefined) {
          this.startOver();
          break;
        }
        this.cursor = own.cursor;
        if (own.slowRun) {
          const slow = await this.foldSlowRun(own.cursor, own.slowRun.count, deadLetters);
          if (slow === undefined) {
            this.startOver();
            break;
          }
          folded += slow;
        } else if (own.applied < batchSize) {
          // The stream's end: wait for an entry once if this call folded nothing yet.
          if (folded > 0 || waited) break;
          waited = true;
          if ((await readFoldBatch(this.store, this.blocking, own.cursor, 1, blockMs)).length === 0) break;
        }
      }
    } catch (error) {
      this.startOver();
      throw error;
    } finally {
      this.logDeadLetters(deadLetters);
    }
    return folded;
  }

  /**
   * Gives the fold lease up (when stopping), so that another replica folds at once. Asked of Redis
   * even when this folder believes it holds none: the script deletes the lease only if this
   * replica holds it, and a lease taken by a call that failed on its reply is released too.
   */
  async release(): Promise<void> {
    this.leaseHeldAt = undefined;
    await this.store.releaseFoldLease(this.options.replicaId);
  }

  /**
   * Whether this replica holds the fold lease, extended when a third of it has passed. When
   * another holds it, waits up to `waitMs` (or until it lapses) and says no.
   */
  private async holdLease(waitMs: number): Promise<boolean> {
    const { replicaId, leaseMs } = this.options;
    if (!this.leaseDue()) return true;
    const asked = performance.now();
    const lease = await this.store.holdFoldLease(replicaId, leaseMs);
    if (lease.held) {
      this.leaseHeldAt = asked;
      return true;
    }
    // Lost (a pause longer than the lease) or never held: what this replica read in advance is another's now.
    if (this.leaseHeldAt !== undefined) this.log.info("fold lease taken by another replica; no longer folding");
    this.leaseHeldAt = undefined;
    this.startOver();
    // A lease with no time to live left (≤ 0: none, or one set without a TTL by hand) is waited on
    // for waitMs, not polled every millisecond.
    const waitForLapse = lease.remainingMs > 0 ? Math.min(waitMs, lease.remainingMs) : waitMs;
    await new Promise((r) => setTimeout(r, waitForLapse));
    return false;
  }

  /** Whether the lease is due for extension (a third of it passed): a run of fast calls then ends, and the loop extends it. */
  private leaseDue(): boolean {
    return this.leaseHeldAt === undefined || performance.now() - this.leaseHeldAt >= this.options.leaseMs / 3;
  }

  /** Forgets the cursor: the next call reads it from Redis. */
  private startOver(): void {
    this.cursor = undefined;
  }

  /**
   * The fast path from the cursor `after`: one call, then, while the calls come back full
   * (`batchSize` applied, no stop), more, FAST_CALLS_IN_FLIGHT at a time, up to FAST_CALLS_PER_RUN
   * and until the lease is due for extension (large batches under a short lease).
   * The first compares the cursor with `after`; those pipelined behind it fold from wherever the
   * cursor stands (foldOwn-3.lua's '' cursor), where the call ahead of them left it: each reads and
   * moves the cursor itself in one atomic step, so each is exactly once all the same. Every reply
   * is counted in the metrics, also those that come after a failure (which is then thrown).
   */
  private async foldFastRun(after: string): Promise<FastRun> {
    const { batchSize, metrics } = this.options;
    const calls = [this.fastCall(after)];
    let sent = 1;
    let applied = 0;
    let last: OwnFoldResult | undefined;
    let moved = false;
    let failure: { error: unknown } | undefined;
    while (calls.length > 0) {
      let own: OwnFoldResult | undefined;
      try {
        own = await calls.shift()!;
      } catch (error) {
        failure ??= { error };
        continue;
      }
      if (own === undefined) {
        moved = true;
        continue;
      }
      last = own;
      const more = own.applied === batchSize && own.slowRun === undefined && !moved && failure === undefined && !this.leaseDue();
      // The next calls go out now, before this reply (and those read with it) is handled here:
      // Redis writes the replies of the calls it holds only once it has run them all, so it idles
      // until the next call arrives, and the store would hold the write to the end of this turn.
      while (more && calls.length < FAST_CALLS_IN_FLIGHT && sent < FAST_CALLS_PER_RUN) {
        calls.push(this.fastCall(""));
        sent += 1;
      }
      if (more) flushWrites(this.store.redis);
      applied += own.applied;
      metrics?.folded(own.figures, 0, { applied: own.applied, deadLettered: 0, alreadyFolded: 0 });
    }
    if (failure !== undefined) throw failure.error;
    return { applied, last: moved ? undefined : last };
  }

  /** A fast-path call, its failure handled when its turn comes (not unhandled while an earlier one is awaited). */
  private fastCall(after: string): Promise<OwnFoldResult | undefined> {
    const call = this.store.foldOwn(after, this.options.batchSize);
    call.catch(() => undefined);
    return call;
  }

  /**
   * The slow path for `count` entries after the cursor `after`: read here, validated, folded by
   * fold-4.lua (split on refusal, invalid ones dead-lettered). Returns how many, or undefined when
   * the cursor had moved (another fold took them).
   */
  private async foldSlowRun(after: string, count: number, deadLetters: DeadLetterTally): Promise<number | undefined> {
    const entries = await readFoldBatch(this.store, this.blocking, after, count, 1);
    if (entries.length === 0) return 0;
    const result = await this.foldEntries(entries, after, deadLetters);
    if (result.alreadyFolded > 0) return undefined;
    this.cursor = entries[entries.length - 1]![0].toString();
    return entries.length;
  }

  private async foldEntries(entries: StreamEntry[], after: string, deadLetters: DeadLetterTally): Promise<FoldResult> {
    const events: WorkstealEvent[] = [];
    const foldEntries = entries.map((entry) => {
      const parsed = parseEventEntry(entry[1]);
      if (parsed.ok) events.push(parsed.event);
      return toFoldEntry(entry, parsed);
    });
    const result = await foldSplitting(this.store, foldEntries, after, this.log);
    this.options.metrics?.folded(taskFiguresOf(events), entries.length - events.length, result);
    if (result.deadLettered > 0) {
      deadLetters.deadLettered += result.deadLettered;
      for (const entry of foldEntries) {
        if (!("dead" in entry)) continue;
        deadLetters.invalid += 1;
        if (deadLetters.itemised.length < ITEMISED_DEAD_LETTERS) deadLetters.itemised.push(entry);
      }
    }
    return result;
  }

  /**
   * What one foldNew dead-lettered, in a few lines whatever the count: a slow run can be a single
   * entry, and a client appending bad entries among task traffic must not get a log line for each.
   */
  private logDeadLetters({ itemised, invalid, deadLettered }: DeadLetterTally): void {
    if (deadLettered === 0) return;
    for (const entry of itemised) this.log.warn({ id: entry.id, reason: entry.dead }, "event dead-lettered");
    // Entries refused by the fold script's own checks (forged, unknown agent) are counted, not itemised here.
    this.log.warn({ deadLettered, invalid }, "events dead-lettered");
  }
}
