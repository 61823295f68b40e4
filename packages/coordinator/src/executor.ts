import type { Logger } from "pino";
import { type Directive, DirectiveSchema, describeZodError, jobIdFor, parseJobId, type StealStatus } from "@worksteal/protocol";
import {
  type AgentQueues,
  FenceRejectedError,
  isRefusedAgent,
  QUEUED_JOB_STATES,
  readAgentCapabilities,
  readCurrentFence,
  readMoveLog,
  readStealStatus,
  readTaskFields,
  recordSteal,
  StaleTaskError,
  type Store,
  TaskNotFoundError,
  TaskNotQueuedError,
} from "@worksteal/store";
import type { ReplicaMetrics } from "./metrics.js";

/** How many jobs from the tail of the source's queue are examined per task requested, per page. */
const CANDIDATES_PER_TASK = 4;
/** Pages of the tail examined at most. */
const MAX_PAGES = 5;

/** Why a directive moved fewer tasks than it asked for. */
export type Shortfall = "malformed" | "expired" | "target_unregistered" | "target_refused" | "fence" | "not_movable";

export interface StealOutcome {
  status: StealStatus;
  taskIds: string[];
  detail: string;
  /** Set when fewer tasks moved than the directive asked for. */
  shortfall?: Shortfall;
}

export interface ExecutorOptions {
  /** A directive older than this (Redis clock) is rejected: its plan no longer describes the queues. */
  maxDirectiveAgeMs: number;
  retentionMs: number;
  /** Told of every directive this executor carried out, once recorded. */
  onExecuted?: (directive: Directive, outcome: StealOutcome) => void;
  /** Counts every directive executed here (not a re-run that finds it already recorded). */
  metrics?: Pick<ReplicaMetrics, "executed">;
}

/** A task moved to the target, still to be handed over: queued there, its old job dropped. */
interface Moved {
  taskId: string;
  epoch: number;
  attempts: number;
  sourceJobId: string;
}

/** A queued job of the source's that the directive may move. */
interface Candidate {
  taskId: string;
  epoch: number;
  jobId: string;
  attemptsLeft: number;
}

/** What moving a directive's tasks came to so far. */
interface MoveRun {
  moved: Moved[];
  fenceRejected: boolean;
  /** The target stopped taking tasks (died, drains, drained) since the directive was planned. */
  targetRefused: boolean;
}

/**
 * Carries out one directive: moves the tasks it names (or, naming none, queued tasks from the
 * tail of the source's queue that the target can run), each with the move script (fence, owner,
 * state and epoch compared), queues them on the target and removes the leftover jobs from the
 * source. Run again after a
 * crash, it first finishes the moves it already made (their log is in Redis), then moves only
 * what is still missing, so no task is moved twice and every moved task ends in one queue.
 * Round trips are batched: a directive of fifty tasks costs a handful of them, not hundreds.
 */
export class DirectiveExecutor {
  constructor(
    private readonly store: Store,
    private readonly queues: AgentQueues,
    private readonly options: ExecutorOptions,
    private readonly log: Logger,
  ) {}

  async execute(raw: unknown): Promise<StealOutcome> {
    const parsed = DirectiveSchema.safeParse(raw);
    if (!parsed.success) {
      // Nothing to record against: a malformed directive names no valid operation.
      this.log.warn({ reason: describeZodError(parsed.error) }, "malformed directive dropped");
      const outcome: StealOutcome = { status: "rejected", taskIds: [], detail: `malformed: ${describeZodError(parsed.error)}`, shortfall: "malformed" };
      this.options.metrics?.executed(undefined, outcome);
      return outcome;
    }
    const directive = parsed.data;
    const startedAt = await this.store.now();
    const recorded = await readStealStatus(this.store, directive.id);
    if (recorded) return { status: recorded, taskIds: (await readMoveLog(this.store, directive.id)).map((m) => m.taskId), detail: "already executed" };

    let outcome: StealOutcome;
    if (startedAt - directive.createdAt > this.options.maxDirectiveAgeMs) {
      // Too old to move anything more, but moves an earlier run made are still handed over.
      const earlier = await this.resumeEarlierMoves(directive);
      await this.handOver(directive, earlier);
      const detail = `expired: planned ${startedAt - directive.createdAt} ms ago`;
      outcome = { status: earlier.length > 0 ? "partial" : "rejected", taskIds: earlier.map((m) => m.taskId), detail, shortfall: "expired" };
    } else {
      outcome = await this.steal(directive);
    }
    await this.record(directive, outcome, startedAt);
    this.options.onExecuted?.(directive, outcome);
    this.options.metrics?.executed(directive, outcome);
    return outcome;
  }

  private async steal(directive: Directive): Promise<StealOutcome> {
    const target = await readAgentCapabilities(this.store, directive.target);
    if (target === undefined)
      return { status: "failed", taskIds: [], detail: `target ${directive.target} is not registered`, shortfall: "target_unregistered" };
    const targetCapabilities = new Set(target);

    // First finish what an earlier run of this directive decided.
    const earlier = await this.resumeEarlierMoves(directive);
    const taskIds = earlier.map((m) => m.taskId);
    await this.handOver(directive, earlier);

    const wanted = directive.count - taskIds.length;
    if (wanted <= 0) return { status: "completed", taskIds, detail: "" };
    const run: MoveRun = { moved: [], fenceRejected: false, targetRefused: false };
    if (directive.taskIds) {
      // The planner chose these: the ones an earlier run moved are done, the rest move if still queued on the source.
      const done = new Set(taskIds);
      await this.moveJobs(
        directive,
        await this.named(
          directive,
          targetCapabilities,
          directive.taskIds.filter((id) => !done.has(id)),
        ),
        run,
      );
    } else {
      // A directive of a leader that names no tasks: page through the source's tail, newest
      // first (a directive running at the same time for the same source may have taken the first page).
      const pageSize = wanted * CANDIDATES_PER_TASK;
      for (let page = 0, offset = 0; page < MAX_PAGES && run.moved.length < wanted && !run.fenceRejected && !run.targetRefused; page++, offset += pageSize) {
        const { seen, eligible } = await this.candidates(directive, targetCapabilities, offset, pageSize);
        if (seen === 0) break;
        for (let next = 0; next < eligible.length && run.moved.length < wanted && !run.fenceRejected && !run.targetRefused;) {
          const batch = eligible.slice(next, next + wanted - run.moved.length);
          next += batch.length;
          await this.moveJobs(directive, batch, run);
        }
      }
    }
    // Nothing reached the move script (every named task had left the source): its fence
    // check never ran, and a directive of a past leadership must still end rejected, not failed.
    if (run.moved.length === 0 && taskIds.length === 0 && !run.fenceRejected && (await readCurrentFence(this.store)) !== directive.fence)
      run.fenceRejected = true;
    const { moved, fenceRejected, targetRefused } = run;
    await this.handOver(directive, moved);
    taskIds.push(...moved.map((m) => m.taskId));

    if (targetRefused) {
      return {
        status: taskIds.length > 0 ? "partial" : "failed",
        taskIds,
        detail: `target ${directive.target} no longer takes tasks`,
        shortfall: "target_refused",
      };
    }
    if (fenceRejected) {
      return { status: taskIds.length > 0 ? "partial" : "rejected", taskIds, detail: "fence is not the current one", shortfall: "fence" };
    }
    const missing = directive.count - taskIds.length;
    const status: StealStatus = missing === 0 ? "completed" : taskIds.length > 0 ? "partial" : "failed";
    return missing > 0
      ? { status, taskIds, detail: `${missing} of ${directive.count} not movable`, shortfall: "not_movable" }
      : { status, taskIds, detail: "" };
  }

  /** Moves these jobs at once with the move script (fence, owner, state and epoch compared), adding to `run`. */
  private async moveJobs(directive: Directive, jobs: readonly Candidate[], run: MoveRun): Promise<void> {
    const results = await Promise.allSettled(
      jobs.map((job) => this.store.move(job.taskId, directive.source, directive.target, job.epoch, directive, this.options.retentionMs)),
    );
    results.forEach((result, i) => {
      const job = jobs[i]!;
      if (result.status === "fulfilled") {
        run.moved.push({ taskId: job.taskId, epoch: result.value, attempts: job.attemptsLeft, sourceJobId: job.jobId });
      } else if (result.reason instanceof FenceRejectedError) {
        run.fenceRejected = true;
      } else if (isRefusedAgent(result.reason)) {
        run.targetRefused = true;
      } else if (!isNotMovable(result.reason)) {
        throw result.reason;
      }
    });
  }

  /**
   * The named tasks still queued on the source, at the epoch their record holds now, that the
   * target can run. A task that started, moved or finished meanwhile, or that does not exist, is
   * left out: the move script would refuse it anyway.
   */
  private async named(directive: Directive, targetCapabilities: ReadonlySet<string>, ids: readonly string[]): Promise<Candidate[]> {
    if (ids.length === 0) return [];
    const records = await readTaskFields(this.store, ids);
    return ids.flatMap((taskId, i) => {
      const record = records[i];
      if (record?.owner !== directive.source || record.state !== "queued") return [];
      if (!record.requiredCapabilities.every((c) => targetCapabilities.has(c))) return [];
      return [{ taskId, epoch: record.epoch, jobId: jobIdFor(taskId, record.epoch), attemptsLeft: record.maxAttempts - record.attempts }];
    });
  }

  /** Moves an earlier run of the directive made (from the move log) whose task is still queued on the target. */
  private async resumeEarlierMoves(directive: Directive): Promise<Moved[]> {
    const log = await readMoveLog(this.store, directive.id);
    if (log.length === 0) return [];
    const records = await readTaskFields(
      this.store,
      log.map((m) => m.taskId),
    );
    return log.map(({ taskId, epoch }, i) => {
      const record = records[i];
      const pending = record?.owner === directive.target && record.epoch === epoch && record.state === "queued";
      // A task that moved on (ran, or moved again) needs no hand-over, but it was moved by this directive.
      return {
        taskId,
        epoch: pending ? epoch : -1,
        attempts: record ? record.maxAttempts - record.attempts : 0,
        sourceJobId: jobIdFor(taskId, epoch - 1),
      };
    });
  }

  /** Queues moved tasks on the target (a re-add is a no-op) and drops their old jobs from the source. */
  private async handOver(directive: Directive, moved: Moved[]): Promise<void> {
    const pending = moved.filter((m) => m.epoch >= 0);
    if (pending.length === 0) return;
    await this.queues.enqueueMany(directive.target, pending);
    // A job the source's worker just took stays: its claim fails as stale.
    await Promise.all(pending.map((m) => this.queues.removeLeftover(directive.source, m.sourceJobId)));
  }

  /**
   * One page of the source's queue, newest first, read by job id only (ids carry task and
   * epoch): the jobs whose task is still queued on the source at that epoch and that the
   * target can run.
   */
  private async candidates(
    directive: Directive,
    targetCapabilities: ReadonlySet<string>,
    offset: number,
    size: number,
  ): Promise<{ seen: number; eligible: Candidate[] }> {
    const jobIds = await this.queues.get(directive.source).getRanges(QUEUED_JOB_STATES, offset, offset + size - 1, false);
    const jobs = jobIds.flatMap((jobId) => {
      const parsed = parseJobId(jobId);
      return parsed ? [{ jobId, ...parsed }] : [];
    });
    const records = await readTaskFields(
      this.store,
      jobs.map((job) => job.taskId),
    );
    const eligible = jobs.flatMap((job, i) => {
      const record = records[i];
      if (record?.owner !== directive.source || record.epoch !== job.epoch || record.state !== "queued") return [];
      if (!record.requiredCapabilities.every((c) => targetCapabilities.has(c))) return [];
      return [{ ...job, attemptsLeft: record.maxAttempts - record.attempts }];
    });
    return { seen: jobIds.length, eligible };
  }

  private async record(directive: Directive, outcome: StealOutcome, startedAt: number): Promise<void> {
    const finishedAt = await this.store.now();
    await recordSteal(
      this.store,
      {
        directiveId: directive.id,
        fence: directive.fence,
        source: directive.source,
        target: directive.target,
        requested: directive.count,
        taskIds: outcome.taskIds,
        status: outcome.status,
        reason: directive.reason,
        detail: outcome.detail,
        startedAt,
        finishedAt,
      },
      this.options.retentionMs,
    );
    this.log.info({ directive: directive.id, status: outcome.status, moved: outcome.taskIds.length, requested: directive.count }, "directive executed");
  }
}

/** Claimed by the source meanwhile, finished, or a leftover job: not ours to move, not an error. */
function isNotMovable(error: unknown): boolean {
  return error instanceof StaleTaskError || error instanceof TaskNotQueuedError || error instanceof TaskNotFoundError;
}
