import type { Logger } from "pino";
import { cleanReason, effectsOf, type ParsedEntry, parseEventEntry, type WorkstealEvent } from "@worksteal/protocol";
import { performance } from "node:perf_hooks";
import { errorSummary, type FoldEntry, type FoldResult, readFoldBatch, type RedisConnection, type Store, type StreamEntry } from "@worksteal/store";
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

type ReadOutcome = { entries: StreamEntry[] } | { error: unknown };
type FoldOutcome = { error: unknown } | { result: FoldResult };

/** A promise whose failure is kept as a value until it is awaited (an unawaited rejection would crash the process). */
function settle<T>(work: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return work.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/**
 * Folds the event stream from the fold cursor, while this replica holds the fold lease (one
 * replica folds at a time; the others wait for the lease to lapse). Exactness does not rest on the
 * lease: each batch is folded by a compare-and-set on the cursor (fold-4.lua), so a batch read by
 * a replica that lost the lease, a retry, or a replay applies nothing.
 */
export class EventFolder {
  /** The cursor the next batch is read after; undefined until read from Redis (and after a fold found it moved). */
  private cursor: string | undefined;
  /** The next batch, read while the last one folds (settled: its failure waits for the next call). */
  private nextRead: Promise<ReadOutcome> | undefined;
  /**
   * The fold of the last full batch, left running in Redis while the next batch is read and
   * validated here (settled: its failure is thrown by the next call). At most one is left so.
   */
  private lastFold: Promise<FoldOutcome> | undefined;
  /** When the lease was last taken or extended (monotonic clock, ms); undefined while not held. */
  private leaseHeldAt: number | undefined;

  constructor(
    private readonly store: Store,
    /** A connection of its own: XREAD BLOCK holds it. */
    private readonly blocking: RedisConnection,
    private readonly options: EventFolderOptions,
    private readonly log: Logger,
  ) {}

  /** Makes the fold cursor if missing (see foldCursor-2.lua): status and trimming read it. */
  async ensureCursor(): Promise<void> {
    await this.store.foldCursor();
  }

  /**
   * Reads and folds up to one batch after the cursor, blocking up to `blockMs` for it; returns
   * how many entries it read (0 also while another replica holds the fold lease: it then waits
   * up to `blockMs` for the lease to lapse). After a full batch (a backlog), the next batch is
   * read while this one folds, and this one's fold script is left running in Redis while the
   * next batch is validated here (the next call waits for it, after sending its own): Redis and
   * this process work at the same time, so a backlog folds at the pace of the slower of the two,
   * not of their sum. The next batch's fold expects the cursor this one leaves: if this one did
   * not apply, neither does the next, and the folder starts over from the cursor in Redis.
   */
  async foldNew(blockMs: number): Promise<number> {
    if (!(await this.holdLease(blockMs))) return 0;
    const { batchSize } = this.options;
    const after = (this.cursor ??= (await this.store.foldCursor()).id);
    const read = this.nextRead ?? this.read(after, blockMs);
    this.nextRead = undefined;
    const outcome = await read;
    if ("error" in outcome) {
      this.startOver();
      throw outcome.error;
    }
    const entries = outcome.entries;
    const backlog = entries.length >= batchSize;
    let folding: Promise<FoldOutcome> | undefined;
    if (entries.length > 0) {
      const last = entries[entries.length - 1]![0].toString();
      if (backlog) this.nextRead = this.read(last, blockMs);
      this.cursor = last;
      // Validated and sent now; awaited below, or by the next call while a backlog lasts.
      folding = this.fold(entries, after);
    }
    const previous = this.lastFold;
    this.lastFold = backlog ? folding : undefined;
    // The fold left in flight by the last call is awaited even when this read found nothing.
    const outcomes = [previous ? await previous : undefined, backlog || !folding ? undefined : await folding];
    for (const done of outcomes) {
      if (done && "error" in done) {
        this.startOver();
        throw done.error;
      }
      if (done && done.result.alreadyFolded > 0) return this.startOver();
    }
    return entries.length;
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
    if (this.leaseHeldAt !== undefined && performance.now() - this.leaseHeldAt < leaseMs / 3) return true;
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

  /** Forgets what was read or folded in advance: the next call reads the cursor from Redis. Returns the entries this call folded: none. */
  private startOver(): 0 {
    this.cursor = undefined;
    this.nextRead = undefined;
    this.lastFold = undefined;
    return 0;
  }

  private read(after: string, blockMs: number): Promise<ReadOutcome> {
    return settle(readFoldBatch(this.store, this.blocking, after, this.options.batchSize, blockMs)).then((o) => ("error" in o ? o : { entries: o.value }));
  }

  private fold(entries: StreamEntry[], after: string): Promise<FoldOutcome> {
    return settle(this.foldEntries(entries, after)).then((o) => ("error" in o ? o : { result: o.value }));
  }

  private async foldEntries(entries: StreamEntry[], after: string): Promise<FoldResult> {
    const events: WorkstealEvent[] = [];
    const foldEntries = entries.map((entry) => {
      const parsed = parseEventEntry(entry[1]);
      if (parsed.ok) events.push(parsed.event);
      return toFoldEntry(entry, parsed);
    });
    const result = await foldSplitting(this.store, foldEntries, after, this.log);
    this.options.metrics?.folded(events, entries.length - events.length, result);
    if (result.deadLettered > 0) {
      const invalid = foldEntries.filter((e): e is Extract<FoldEntry, { dead: string }> => "dead" in e);
      for (const entry of invalid.slice(0, 5)) this.log.warn({ id: entry.id, reason: entry.dead }, "event dead-lettered");
      // Entries refused by the fold script's own checks (forged, unknown agent) are counted, not itemised here.
      this.log.warn({ deadLettered: result.deadLettered, invalid: invalid.length }, "events dead-lettered");
    }
    return result;
  }
}
