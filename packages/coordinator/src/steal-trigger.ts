import { compareStreamIds } from "@worksteal/protocol";
import { readEntriesAfter, type Store } from "@worksteal/store";

/** Entries read per XREAD: a burst of events costs a few reads, and one round at most. */
const READ_COUNT = 1000;
/** An entry's kind, read by pattern without parsing the entry: the fold validates events. */
const KIND = /"kind"\s*:\s*"([^"]+)"/;

/**
 * What each kind may have changed (kinds not listed change nothing the trigger cares for).
 * - slotFreed: an agent may have a free slot or be left with nothing queued: a run ended (a
 *   cancelled one too), a queued task was cancelled, or an agent joined.
 * - taskQueued: an agent may hold a task another could take: its backlog reached a power of two
 *   (`task:assigned` is appended only then: 1, 2, 4, ... tasks no free slot takes), a run failed
 *   with a retry to come, or one was moved to it (a stolen one on its target).
 * - countsUnstamped: appended only by agents of earlier versions (one per start), whose scripts
 *   change counts without stamping `loads:changed`: while they run, the leader reads every load (a
 *   rolling upgrade).
 */
const HINTS_OF_KIND: ReadonlyMap<string, Partial<StealHint>> = new Map([
  ["task:completed", { slotFreed: true }],
  ["task:cancelled", { slotFreed: true }],
  ["agent:registered", { slotFreed: true }],
  ["task:failed", { slotFreed: true, taskQueued: true }],
  ["task:assigned", { taskQueued: true }],
  ["task:reassigned", { taskQueued: true }],
  ["task:stolen", { taskQueued: true }],
  ["task:started", { countsUnstamped: true }],
]);

/** What a batch of events may have changed, for deciding whether to plan at once. */
export interface StealHint {
  slotFreed: boolean;
  taskQueued: boolean;
  /** An agent of an earlier version changed a count without stamping it (`task:started`, see HINTS_OF_KIND). */
  countsUnstamped: boolean;
}

/**
 * The leader's ear on the event stream, so that stealing reacts to events rather than waiting
 * for the planning timer: it reads the new entries (XREAD, apart from the fold, which reads
 * them on its own cursor), but for those a planning round has seen (`skipTo`), and
 * says whether any could have freed a slot or queued a task. Only the kind is looked at, by
 * pattern, without parsing: the fold validates events.
 */
export class StealTrigger {
  private lastId = "$";

  constructor(
    private readonly store: Store,
    /** A connection of its own: XREAD blocks it. */
    private readonly blocking: Store["redis"],
  ) {}

  /** Forgets where it read: a new leadership starts again with `startAt`. */
  reset(): void {
    this.lastId = "$";
  }

  /** Whether it reads on from where it was (false after `reset`). */
  get started(): boolean {
    return this.lastId !== "$";
  }

  /**
   * Reads on from the entries appended after `since` (Redis clock, ms): the time of the leader's
   * first read of the fleet, so that events after it are not missed.
   */
  startAt(since: number): void {
    this.lastId = `${since}-0`;
  }

  /**
   * Reads on after `eventId` if it lies ahead of where it reads: what came up to it was seen by
   * a round that planned from a fleet read after it. Nothing changes before `startAt`.
   */
  skipTo(eventId: string): void {
    if (this.started && eventId !== "" && compareStreamIds(eventId, this.lastId) > 0) this.lastId = eventId;
  }

  /** Waits up to `blockMs` for new entries; undefined when none came. */
  async next(blockMs: number): Promise<StealHint | undefined> {
    const entries = await readEntriesAfter(this.store, this.blocking, this.lastId, READ_COUNT, blockMs);
    if (entries.length === 0) return undefined;
    this.lastId = entries[entries.length - 1]![0];
    const hint: StealHint = { slotFreed: false, taskQueued: false, countsUnstamped: false };
    for (const [, fields] of entries) {
      for (let i = 1; i < fields.length; i += 2) {
        const kind = KIND.exec(fields[i]!)?.[1];
        const hints = kind === undefined ? undefined : HINTS_OF_KIND.get(kind);
        if (hints !== undefined) Object.assign(hint, hints);
      }
      if (hint.slotFreed && hint.taskQueued && hint.countsUnstamped) break;
    }
    return hint;
  }
}
