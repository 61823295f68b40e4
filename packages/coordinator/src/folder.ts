import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { effectsOf, FOLD_GROUP, parseEventEntry } from "@worksteal/protocol";
import type { FoldEntry, FoldResult, Store } from "@worksteal/store";

type StreamEntry = [id: string, fields: string[]];

/** Validates entries and computes their effects; malformed ones become dead letters with a reason. */
export function toFoldEntries(entries: StreamEntry[]): FoldEntry[] {
  return entries.map(([id, fields]) => {
    // XAUTOCLAIM may return an entry whose fields were trimmed away (null): dead-letter it too.
    const parsed = fields ? parseEventEntry(fields) : { ok: false as const, reason: "entry has no fields" };
    return parsed.ok ? { id, ...effectsOf(parsed.event) } : { id, dead: parsed.reason, fields: fields ?? [] };
  });
}

export interface FolderOptions {
  consumer: string;
  batchSize: number;
  /** Pending entries idle this long belong to a consumer presumed dead; they are claimed. */
  claimIdleMs: number;
}

/**
 * One replica's share of folding: reads new entries as a consumer of the namespace's group and
 * claims entries left pending by dead consumers. Whoever folds, the fold script applies an
 * entry only with the XACK that acknowledged it, so every event counts exactly once.
 */
export class Folder {
  constructor(
    private readonly store: Store,
    /** A connection of its own: XREADGROUP blocks it. */
    private readonly blocking: Redis,
    private readonly options: FolderOptions,
    private readonly log: Logger,
  ) {}

  async ensureGroup(): Promise<void> {
    try {
      // From the start of the stream: a new deployment folds every event ever appended.
      await this.store.redis.xgroup("CREATE", this.store.keys.events, FOLD_GROUP, "0", "MKSTREAM");
    } catch (error) {
      if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
    }
  }

  /** Reads and folds up to one batch of new entries, blocking up to `blockMs` for them; returns how many it read. */
  async foldNew(blockMs: number): Promise<number> {
    let reply: Array<[string, StreamEntry[]]> | null;
    try {
      reply = (await this.blocking.xreadgroup(
        "GROUP", FOLD_GROUP, this.options.consumer,
        "COUNT", this.options.batchSize,
        "BLOCK", blockMs,
        "STREAMS", this.store.keys.events, ">",
      )) as Array<[string, StreamEntry[]]> | null;
    } catch (error) {
      if (String((error as Error).message).includes("NOGROUP")) {
        await this.ensureGroup();
        return 0;
      }
      throw error;
    }
    const entries = reply?.[0]?.[1] ?? [];
    await this.fold(entries);
    return entries.length;
  }

  /** Claims and folds every entry that has been pending longer than `claimIdleMs` on any consumer. */
  async claimAbandoned(): Promise<FoldResult> {
    const total: FoldResult = { applied: 0, deadLettered: 0, alreadyAcknowledged: 0 };
    let cursor = "0-0";
    do {
      const [next, entries, deleted] = (await this.store.redis.xautoclaim(
        this.store.keys.events, FOLD_GROUP, this.options.consumer,
        this.options.claimIdleMs, cursor, "COUNT", this.options.batchSize,
      )) as [string, StreamEntry[], string[]];
      // Entries deleted from the stream while pending can never be folded: acknowledge them away.
      if (deleted && deleted.length > 0) await this.store.redis.xack(this.store.keys.events, FOLD_GROUP, ...deleted);
      const result = await this.fold(entries);
      total.applied += result.applied;
      total.deadLettered += result.deadLettered;
      total.alreadyAcknowledged += result.alreadyAcknowledged;
      cursor = next;
    } while (cursor !== "0-0");
    if (total.applied + total.deadLettered > 0) this.log.info(total, "folded entries claimed from idle consumers");
    return total;
  }

  private async fold(entries: StreamEntry[]): Promise<FoldResult> {
    const foldEntries = toFoldEntries(entries);
    const result = await this.store.fold(foldEntries);
    if (result.deadLettered > 0) {
      for (const entry of foldEntries) if ("dead" in entry) this.log.warn({ id: entry.id, reason: entry.dead }, "event dead-lettered");
    }
    return result;
  }
}
