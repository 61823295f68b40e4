import type { Logger } from "pino";
import { cleanReason, effectsOf, type ParsedEntry, parseEventEntry, type WorkstealEvent } from "@worksteal/protocol";
import {
  claimIdleEntries,
  ensureFoldGroup,
  errorSummary,
  type FoldEntry,
  type FoldResult,
  readNewEntries,
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

const NO_RESULT: FoldResult = { applied: 0, deadLettered: 0, alreadyAcknowledged: 0 };
const add = (a: FoldResult, b: FoldResult): FoldResult => ({
  applied: a.applied + b.applied,
  deadLettered: a.deadLettered + b.deadLettered,
  alreadyAcknowledged: a.alreadyAcknowledged + b.alreadyAcknowledged,
});

/**
 * The fold script itself failed on this batch (a Lua runtime error, such as its JSON decoder
 * refusing the input): retrying the same batch fails again. Other error replies (BUSY, LOADING,
 * READONLY after a failover, a lost connection) pass: the batch is retried as it is, whole.
 */
function isRefusal(error: unknown): boolean {
  return (error as Error | undefined)?.name === "ReplyError" && /user_script|Error running script/.test((error as Error).message);
}

/**
 * Folds a batch; if Redis refuses the script for it, folds each half on its own, down to the one
 * entry that cannot be folded, which is dead-lettered with the refusal as its reason. One poison
 * entry therefore never holds back the good ones read with it. (The fold script refuses a batch
 * before acknowledging any of it, e.g. when its JSON cannot be decoded; after the first XACK
 * nothing in it can fail.)
 */
export async function foldSplitting(store: Store, entries: FoldEntry[], log: Logger): Promise<FoldResult> {
  if (entries.length === 0) return NO_RESULT;
  try {
    return await store.fold(entries);
  } catch (error) {
    if (!isRefusal(error)) throw error;
    if (entries.length === 1) {
      const entry = entries[0]!;
      const reason = cleanReason(`fold script refused the entry: ${(error as Error).message}`);
      log.warn({ id: entry.id, error: errorSummary(error) }, "entry cannot be folded; dead-lettering it");
      const result = await store.fold([{ id: entry.id, dead: reason }]);
      // The fold script never fails after an XACK; were it to, the entry would be acknowledged and neither applied nor dead-lettered.
      if (result.alreadyAcknowledged > 0) log.error({ id: entry.id }, "entry acknowledged by a failed fold: neither applied nor dead-lettered");
      return result;
    }
    const half = Math.ceil(entries.length / 2);
    return add(await foldSplitting(store, entries.slice(0, half), log), await foldSplitting(store, entries.slice(half), log));
  }
}

export interface EventFolderOptions {
  consumer: string;
  batchSize: number;
  /** Pending entries idle this long belong to a consumer presumed dead; they are claimed. */
  claimIdleMs: number;
  /** Told of every batch folded, to count it and observe the latencies its events carry. */
  metrics?: Pick<ReplicaMetrics, "folded">;
}

type ReadOutcome = { entries: StreamEntry[] | undefined } | { error: unknown };

/** A read whose failure is kept as a value until it is awaited (an unawaited rejection would crash the process). */
function settle(read: Promise<StreamEntry[] | undefined>): Promise<ReadOutcome> {
  return read.then(
    (entries) => ({ entries }),
    (error: unknown) => ({ error }),
  );
}

/**
 * One replica's share of folding: reads new entries as a consumer of the namespace's group and
 * claims entries left pending by dead consumers. Whoever folds, the fold script applies an
 * entry only with the XACK that acknowledged it, so every event counts exactly once.
 */
export class EventFolder {
  /** The next batch, read while the last one folds (settled: its failure waits for the next call). */
  private nextRead: Promise<ReadOutcome> | undefined;
  /**
   * The fold of the last full batch, left running in Redis while the next batch is read and
   * validated here (settled: its failure is thrown by the next call). At most one is left so.
   */
  private lastFold: Promise<{ error: unknown } | undefined> | undefined;

  constructor(
    private readonly store: Store,
    /** A connection of its own: XREADGROUP blocks it. */
    private readonly blocking: RedisConnection,
    private readonly options: EventFolderOptions,
    private readonly log: Logger,
  ) {}

  ensureGroup(): Promise<void> {
    return ensureFoldGroup(this.store);
  }

  /**
   * Reads and folds up to one batch of new entries, blocking up to `blockMs` for them; returns how
   * many it read. After a full batch (a backlog), the next batch is read while this one folds, and
   * this one's fold script is left running in Redis while the next batch is validated here (the
   * next call waits for it, after sending its own): Redis and this process work at the same
   * time, so a backlog folds at the pace of the slower of the two, not of their sum. Folds of two
   * batches in flight at once are safe: each applies only what its own XACK acknowledged, and
   * counters add up in any order. A batch read or folding when the replica stops and not folded
   * stays pending for others to claim, as any batch read but not folded.
   */
  async foldNew(blockMs: number): Promise<number> {
    const { consumer, batchSize } = this.options;
    const read = this.nextRead ?? settle(readNewEntries(this.store, this.blocking, consumer, batchSize, blockMs));
    this.nextRead = undefined;
    const outcome = await read;
    if ("error" in outcome) throw outcome.error;
    if (outcome.entries === undefined) {
      await this.ensureGroup();
      return 0;
    }
    const entries = outcome.entries;
    const backlog = entries.length >= batchSize;
    if (backlog) this.nextRead = settle(readNewEntries(this.store, this.blocking, consumer, batchSize, blockMs));
    // Validated and sent now; awaited below, or by the next call while a backlog lasts.
    const folding = this.fold(entries).then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    const previous = this.lastFold;
    this.lastFold = backlog ? folding : undefined;
    const failed = (await previous) ?? (backlog ? undefined : await folding);
    if (failed) throw failed.error;
    return entries.length;
  }

  /** Claims and folds every entry that has been pending longer than `claimIdleMs` on any consumer. */
  async claimAbandoned(): Promise<FoldResult> {
    let total = NO_RESULT;
    let cursor = "0-0";
    do {
      const { next, entries } = await claimIdleEntries(this.store, this.options.consumer, this.options.claimIdleMs, cursor, this.options.batchSize);
      total = add(total, await this.fold(entries));
      cursor = next;
    } while (cursor !== "0-0");
    if (total.applied + total.deadLettered > 0) this.log.info(total, "folded entries claimed from idle consumers");
    return total;
  }

  private async fold(entries: StreamEntry[]): Promise<FoldResult> {
    const events: WorkstealEvent[] = [];
    const foldEntries = entries.map((entry) => {
      const parsed = parseEventEntry(entry[1]);
      if (parsed.ok) events.push(parsed.event);
      return toFoldEntry(entry, parsed);
    });
    const result = await foldSplitting(this.store, foldEntries, this.log);
    this.options.metrics?.folded(events, entries.length - events.length, result);
    if (result.deadLettered > 0) {
      const invalid = foldEntries.filter((e): e is Extract<FoldEntry, { dead: string }> => "dead" in e);
      for (const entry of invalid.slice(0, 5)) this.log.warn({ id: entry.id, reason: entry.dead }, "event dead-lettered");
      // Entries refused by the fold script's own checks (forged, replayed, unknown agent) are counted, not itemised here.
      this.log.warn({ deadLettered: result.deadLettered, invalid: invalid.length }, "events dead-lettered");
    }
    return result;
  }
}
