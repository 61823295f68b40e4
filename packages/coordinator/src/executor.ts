import type { Logger } from "pino";
import {
  type Directive,
  DirectiveSchema,
  describeZodError,
  jobIdFor,
  type StealStatus,
} from "@worksteal/protocol";
import {
  type AgentQueues,
  FenceRejectedError,
  StaleTaskError,
  type Store,
  TaskNotFoundError,
  TaskNotRunningError,
} from "@worksteal/store";

/** How many jobs from the tail of the source's queue are examined per task requested. */
const CANDIDATES_PER_TASK = 4;

export interface StealOutcome {
  status: StealStatus;
  taskIds: string[];
  detail: string;
}

export interface ExecutorOptions {
  /** A directive older than this (Redis clock) is rejected: its plan no longer describes the queues. */
  maxDirectiveAgeMs: number;
  retentionMs: number;
}

/**
 * Carries out one directive: picks queued tasks from the tail of the source's queue that the
 * target can run, moves each with the move script (fence, owner, state and epoch compared),
 * queues it on the target and removes the leftover job from the source. Run again after a
 * crash, it first finishes the moves it already made (their log is in Redis), then moves only
 * what is still missing, so no task is moved twice and every moved task ends in one queue.
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
      return { status: "rejected", taskIds: [], detail: `malformed: ${describeZodError(parsed.error)}` };
    }
    const directive = parsed.data;
    const startedAt = await this.store.now();
    const recorded = await this.store.redis.hget(this.store.keys.steal(directive.id), "status");
    if (recorded) return { status: recorded as StealStatus, taskIds: await this.movedTaskIds(directive), detail: "already executed" };

    let outcome: StealOutcome;
    if (startedAt - directive.createdAt > this.options.maxDirectiveAgeMs) {
      outcome = { status: "rejected", taskIds: await this.movedTaskIds(directive), detail: `expired: planned ${startedAt - directive.createdAt} ms ago` };
    } else {
      outcome = await this.steal(directive);
    }
    await this.record(directive, outcome, startedAt);
    return outcome;
  }

  private async steal(directive: Directive): Promise<StealOutcome> {
    const target = await this.store.redis.hget(this.store.keys.agent(directive.target), "capabilities");
    if (target === null) return { status: "failed", taskIds: [], detail: `target ${directive.target} is not registered` };
    const targetCapabilities = new Set(JSON.parse(target) as string[]);

    // First finish what an earlier run of this directive decided.
    const done = await this.store.redis.hgetall(this.store.keys.stealMoves(directive.id));
    for (const [taskId, epoch] of Object.entries(done)) await this.handOver(directive, taskId, Number(epoch));
    const moved = Object.keys(done);

    let detail = "";
    const wanted = directive.count - moved.length;
    if (wanted > 0) {
      const source = this.queues.get(directive.source);
      const jobs = await source.getJobs(["wait"], 0, wanted * CANDIDATES_PER_TASK - 1, false);
      for (const job of jobs) {
        if (moved.length >= directive.count) break;
        const { taskId, epoch } = job.data;
        const record = await this.store.getTask(taskId);
        if (!record || !record.requiredCapabilities.every((c) => targetCapabilities.has(c))) continue;
        try {
          const newEpoch = await this.store.move(taskId, directive.source, directive.target, epoch, directive, this.options.retentionMs);
          moved.push(taskId);
          await this.handOver(directive, taskId, newEpoch, job.id);
        } catch (error) {
          if (error instanceof FenceRejectedError) {
            return { status: moved.length > 0 ? "partial" : "rejected", taskIds: moved, detail: "fence is not the current one" };
          }
          // Claimed by the source meanwhile, finished, or a leftover job: not ours to move.
          if (error instanceof StaleTaskError || error instanceof TaskNotRunningError || error instanceof TaskNotFoundError) continue;
          throw error;
        }
      }
      if (moved.length < directive.count) detail = `${directive.count - moved.length} of ${directive.count} not movable`;
    }
    const status: StealStatus = moved.length === directive.count ? "completed" : moved.length > 0 ? "partial" : "failed";
    return { status, taskIds: moved, detail };
  }

  /** Queues a moved task on the target (a no-op if already there) and drops the source's job. */
  private async handOver(directive: Directive, taskId: string, epoch: number, sourceJobId?: string): Promise<void> {
    const record = await this.store.getTask(taskId);
    if (!record || record.owner !== directive.target || record.epoch !== epoch || record.state !== "queued") return;
    await this.queues.enqueue(directive.target, taskId, epoch, record.maxAttempts - record.attempts);
    const jobId = sourceJobId ?? jobIdFor(taskId, epoch - 1);
    // A locked job (the source's worker just took it) cannot be removed: its claim fails as stale.
    await this.queues.get(directive.source).remove(jobId).catch(() => undefined);
  }

  private async movedTaskIds(directive: Directive): Promise<string[]> {
    return Object.keys(await this.store.redis.hgetall(this.store.keys.stealMoves(directive.id)));
  }

  private async record(directive: Directive, outcome: StealOutcome, startedAt: number): Promise<void> {
    const k = this.store.keys;
    const finishedAt = await this.store.now();
    await this.store.redis
      .multi()
      .hset(k.steal(directive.id), {
        directiveId: directive.id,
        fence: directive.fence,
        source: directive.source,
        target: directive.target,
        requested: directive.count,
        taskIds: JSON.stringify(outcome.taskIds),
        status: outcome.status,
        reason: directive.reason,
        detail: outcome.detail,
        startedAt,
        finishedAt,
      })
      .pexpire(k.steal(directive.id), this.options.retentionMs)
      .zadd(k.steals, finishedAt, directive.id)
      .exec();
    this.log.info({ directive: directive.id, status: outcome.status, moved: outcome.taskIds.length, requested: directive.count }, "directive executed");
  }
}
