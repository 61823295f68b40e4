import { compareStreamIds } from "@worksteal/protocol";
import { readEntriesAfter, type Store } from "@worksteal/store";

/** Entries read per XREAD: a burst of events costs a few reads, and one round at most. */
const READ_COUNT = 1000;
/**
 * After these, an agent may have a free slot or be left with nothing queued: a run ended (a
 * cancelled one too), a queued task was cancelled, or an agent joined.
 */
const FREES_A_SLOT = /"kind"\s*:\s*"(?:task:completed|task:failed|task:cancelled|agent:registered)"/;
/**
 * After these, an agent may hold a task another could take: a task started a backlog on it
 * (`task:assigned` is appended only then, not for a task queued into a backlog that exists: the
 * runs ending there ask for the next round), a run failed with a retry to come, or one was moved
 * to it (a stolen one on its target).
 */
const QUEUES_A_TASK = /"kind"\s*:\s*"(?:task:assigned|task:failed|task:reassigned|task:stolen)"/;

/**
 * Appended only by agents of earlier versions (one per start), whose scripts change counts without
 * stamping `loads:changed`: while they run, the leader reads every load (a rolling upgrade).
 */
const WRITTEN_BY_EARLIER_AGENTS = /"kind"\s*:\s*"task:started"/;

/** What a batch of events may have changed, for deciding whether to plan at once. */
export interface StealHint {
  slotFreed: boolean;
  taskQueued: boolean;
  /** An agent of an earlier version changed a count without stamping it (see WRITTEN_BY_EARLIER_AGENTS). */
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
        const text = fields[i]!;
        if (!hint.slotFreed && FREES_A_SLOT.test(text)) hint.slotFreed = true;
        if (!hint.taskQueued && QUEUES_A_TASK.test(text)) hint.taskQueued = true;
        if (!hint.countsUnstamped && WRITTEN_BY_EARLIER_AGENTS.test(text)) hint.countsUnstamped = true;
      }
      if (hint.slotFreed && hint.taskQueued && hint.countsUnstamped) break;
    }
    return hint;
  }
}
