import { type Job, UnrecoverableError, Worker } from "bullmq";
import { pino, type Logger } from "pino";
import {
  type AgentProfile,
  AgentProfileSchema,
  type AgentProfileInput,
  agentQueueName,
  type Config,
  type ConfigInput,
  describeZodError,
  backoffDelayMs,
  MAX_ERROR_BYTES,
  toJson,
  truncateBytes,
} from "@worksteal/protocol";
import { loadConfig, redisTargetOf } from "@worksteal/config";
import {
  AgentNotAliveError,
  AgentUnknownError,
  AttemptsExhaustedError,
  ClaimBatcher,
  type ClaimedTask,
  FinishBatcher,
  closeRedis,
  isConnectionError,
  createRedis,
  flushWrites,
  type RedisConnection,
  reportProgress,
  StoreError,
  StaleTaskError,
  Store,
  type TaskJobData,
  TaskFinishedError,
  TaskNotFoundError,
} from "@worksteal/store";
import { processSampler } from "./metrics.js";
import { RunningTasks, withTimeout } from "./run-control.js";

/** How often a draining agent checks whether it holds any task still. */
const DRAIN_POLL_MS = 100;

/** What a handler receives for one run of a task. */
export interface TaskContext {
  id: string;
  type: string;
  payload: unknown;
  requiredCapabilities: string[];
  attempt: number;
  /**
   * True when this run takes up again a run of the same claim (same agent, same epoch) that was
   * cut off: its process died, or its job stalled, and BullMQ handed the job out again.
   */
  restarted: boolean;
  /** The epoch this run was claimed at (grows with every move). */
  epoch: number;
  agentId: string;
  /**
   * Aborted when the attempt times out (reason: AttemptTimeoutError) or the task is cancelled
   * (reason: TaskCancelledError). A handler that stops early on it frees its slot sooner.
   */
  signal: AbortSignal;
  /** Stores a progress value (any JSON up to 4 KiB) on the record; false once this run no longer holds the task. */
  progress: (value: unknown) => Promise<boolean>;
}

/** Runs one task; its return value (sync or awaited) is the task's result. */
export type TaskHandler = (task: TaskContext) => unknown;

export interface AgentOptions extends AgentProfileInput {
  handler: TaskHandler;
  /** Configuration overrides; the rest comes from WORKSTEAL_* variables and defaults. */
  config?: ConfigInput;
  logger?: Logger;
}

export type RunResult = { ran: true } | { ran: false; skipped: "stale" | "finished" | "missing" | "draining" };

/**
 * A worker process's side of worksteal: registers, heartbeats with cpu and memory, consumes its
 * own BullMQ queue, and runs a job only after claiming its task (owner and epoch must match, so
 * a job left over from before a move is dropped without running).
 */
export class Agent {
  readonly profile: AgentProfile;
  readonly config: Config;
  private readonly handler: TaskHandler;
  private readonly log: Logger;
  private readonly redis: RedisConnection;
  private readonly workerRedis: RedisConnection;
  private readonly store: Store;
  /**
   * The store on the worker's connection: claims and completed runs' finishes go out on the socket
   * BullMQ's worker uses for its jobs (see `finishCompleted`). A reply read there resumes the
   * claims, finishes and job completions of every slot it answers, and what they send next leaves
   * in one write on one socket: claims on the command connection cost each task a socket write
   * and read of their own, in Node and in Redis.
   */
  private readonly workerStore: Store;
  /** The claims of this agent's slots, those of one turn sent as one call on the worker's connection. */
  private readonly claims: ClaimBatcher;
  /** Completed runs' finishes on the worker's connection, those made in a row sent as one call. */
  private readonly finishes: FinishBatcher;
  private worker?: Worker<TaskJobData>;
  private heartbeatTimer?: NodeJS.Timeout;
  private draining?: Promise<void>;
  /** The last drain completed: nothing runs here until an undrain. */
  private drained = false;
  private closed = false;
  private readonly sample = processSampler();
  private readonly running: RunningTasks;

  constructor(options: AgentOptions) {
    const { handler, config, logger, ...profile } = options;
    const parsed = AgentProfileSchema.safeParse(profile);
    if (!parsed.success) throw new TypeError(`invalid agent profile: ${describeZodError(parsed.error)}`);
    this.profile = parsed.data;
    this.config = loadConfig({ overrides: config });
    const redisTarget = redisTargetOf(this.config);
    this.handler = handler;
    this.log = (logger ?? pino({ name: "worksteal-agent", level: this.config.logLevel })).child({ agentId: this.profile.id });
    // The command connection reports Redis's state for both: they go to the same server.
    this.redis = createRedis(redisTarget, { connectionName: `agent:${this.profile.id}`, log: this.log.child({ namespace: this.config.namespace }) });
    this.workerRedis = createRedis(redisTarget, { role: "blocking", connectionName: `agent-worker:${this.profile.id}` });
    this.store = new Store(this.redis, this.config.namespace, { agentTtlMs: this.config.agentTtlMs });
    this.workerStore = new Store(this.workerRedis, this.config.namespace, { agentTtlMs: this.config.agentTtlMs });
    this.claims = new ClaimBatcher(this.workerStore, this.profile.id, this.config.retentionMs);
    this.finishes = new FinishBatcher(this.workerStore, this.profile.id, this.config.retentionMs);
    this.running = new RunningTasks(this.store, this.config.cancelPollMs, this.log);
  }

  get id(): string {
    return this.profile.id;
  }

  /** Registers, starts heartbeating, and starts taking jobs from the agent's queue. */
  async start(): Promise<void> {
    await this.store.registerAgent(this.profile);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.config.heartbeatIntervalMs);
    this.worker = new Worker<TaskJobData>(agentQueueName(this.id), (job) => this.process(job), {
      connection: this.workerRedis,
      prefix: this.store.keys.bullPrefix,
      concurrency: this.profile.concurrency,
      lockDuration: this.config.lockDurationMs,
      // A job left active by this agent's previous life is re-delivered (and re-claimed) this soon.
      stalledInterval: this.config.lockDurationMs,
      // Every task job names this strategy: the retry's delay is the one `process` put on the record.
      settings: { backoffStrategy: (_attempts, _type, error) => (error instanceof RetryLaterError ? error.delayMs : 0) },
    });
    // A lost connection is reported once by the command connection, not at each of the worker's retries.
    this.worker.on("error", (error) => {
      if (!isConnectionError(error)) this.log.warn({ error: messageOf(error) }, "worker error");
    });
    this.log.info({ profile: this.profile }, "agent started");
  }

  /** Stops taking jobs, waits for running ones to finish, then stops heartbeating. */
  async close(): Promise<void> {
    this.closed = true;
    await this.worker?.close();
    this.running.stop();
    clearInterval(this.heartbeatTimer);
    // Dropped at once when Redis is away: a QUIT would wait for it to come back.
    await Promise.all([closeRedis(this.redis), closeRedis(this.workerRedis)]);
    this.log.info("agent closed");
  }

  /**
   * Drains the agent: it takes no new task, the coordinator hands its queue to other agents, and
   * it finishes what it runs. Resolves once it holds no task (it is then `drained`); close it
   * after. Rejects if it is undrained first (`worksteal agent undrain <id>`). `worksteal agent
   * drain <id>` starts the same from outside, through the heartbeat.
   */
  async drain(): Promise<void> {
    await this.store.drain(this.id);
    await this.startDraining();
  }

  private startDraining(): Promise<void> {
    // A drain that completed, then an undrain this agent has not heard of yet: a new drain.
    if (this.drained) {
      this.draining = undefined;
      this.drained = false;
    }
    this.draining ??= (async () => {
      this.log.info("draining: no new tasks");
      // Stop fetching jobs; those running go on to the end. (A job fetched meanwhile is refused at claim.)
      await this.worker?.pause(true);
      for (;;) {
        if (this.closed) throw new Error(`agent ${this.id} closed before it drained`);
        // Redis away for a while is waited out: the drain ends only drained, undrained or closed.
        const state = await this.store.markDrained(this.id).catch((error: unknown) => {
          if (!isConnectionError(error)) this.log.warn({ error: messageOf(error) }, "drain check failed");
          return "draining" as const;
        });
        if (state === "drained") break;
        if (state === "undrained") {
          this.resume();
          throw new Error(`agent ${this.id} was undrained before it drained`);
        }
        await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
      }
      this.drained = true;
      this.log.info("drained");
    })();
    return this.draining;
  }

  /** Taken back after a drain: takes jobs again. */
  private resume(): void {
    if (!this.draining) return;
    this.draining = undefined;
    this.drained = false;
    // The worker's loop restarts in the background; a failure there is the worker's own error event too.
    this.worker?.resume().catch((error: unknown) => this.log.warn({ error: messageOf(error) }, "resume failed"));
    this.log.info("undrained: taking tasks again");
  }

  private async heartbeat(): Promise<void> {
    const { cpu, memoryMb } = this.sample();
    try {
      const { status } = await this.store.heartbeat(this.id, cpu, memoryMb);
      if (status === "draining") void this.startDraining().catch((error: Error) => this.log.info({ reason: error.message }, "drain ended"));
      // Undrained after its drain completed (one still under way notices by itself).
      else if (status === "alive" && this.drained) this.resume();
    } catch (error) {
      if (error instanceof AgentUnknownError) {
        // Removed while away: registers again; a failure is retried at the next heartbeat.
        await this.store.registerAgent(this.profile).catch((again: unknown) => {
          if (!isConnectionError(again)) this.log.warn({ error: messageOf(again) }, "registering again failed");
        });
      } else if (!isConnectionError(error)) this.log.warn({ error: messageOf(error) }, "heartbeat failed");
    }
  }

  private async process(job: Job<TaskJobData>): Promise<RunResult> {
    const { taskId, epoch } = job.data;
    let claimed: ClaimedTask;
    try {
      claimed = await this.claims.claim(taskId, epoch);
    } catch (error) {
      const skipped = skipReason(error);
      if (!skipped) {
        // BullMQ retries the job and at last drops it (the reconciler adds it again): without this
        // line a claim Redis refuses every time (an ACL of an earlier release, say) would be silent.
        if (!isConnectionError(error)) this.log.warn({ taskId, epoch, error: messageOf(error) }, "claim failed");
        throw error;
      }
      this.log.debug({ taskId, epoch, skipped }, "job dropped without running");
      return { ran: false, skipped };
    }
    const run = this.running.begin(taskId);
    const context: TaskContext = {
      id: taskId,
      type: claimed.type,
      payload: claimed.payload,
      requiredCapabilities: claimed.requiredCapabilities,
      attempt: claimed.attempt,
      restarted: claimed.restarted,
      epoch,
      agentId: this.id,
      get signal() {
        return run.signal;
      },
      // A handler may replace it (e.g. with AbortSignal.any of its own): then it is a plain field.
      set signal(value: AbortSignal) {
        Object.defineProperty(this, "signal", { value, writable: true, enumerable: true, configurable: true });
      },
      progress: (value) => this.progress(taskId, epoch, value),
    };
    let result: unknown;
    let failure: { message: string; unrecoverable: boolean } | undefined;
    // What this turn's continuations sent (other tasks' finishes) goes out before a handler that may keep the turn busy.
    flushWrites(this.redis);
    flushWrites(this.workerRedis);
    try {
      // A handler that throws at once lands in the catch below, as one that rejects does.
      result = await withTimeout(() => this.handler(context), claimed.timeoutMs, run);
    } catch (error) {
      failure = { message: messageOf(error, MAX_ERROR_BYTES), unrecoverable: error instanceof UnrecoverableError };
    } finally {
      this.running.end(taskId, run);
    }
    const json = failure ? undefined : toJson(result, this.config.maxResultBytes);
    // A result that cannot be stored fails the attempt like a throw would: the task must not stay running.
    if (json && !json.ok) failure = { message: `result ${json.reason}`, unrecoverable: false };
    if (!failure) {
      this.finishCompleted(taskId, epoch, (json as { json: string }).json);
      return { ran: true };
    }
    // The delay before the next attempt, if one comes: the record says when (runAt), BullMQ waits it out.
    const retryDelayMs = claimed.backoff && claimed.attempt < claimed.maxAttempts ? backoffDelayMs(claimed.backoff, claimed.attempt, Math.random()) : 0;
    const outcome = failure.unrecoverable ? "failed" : "retry";
    const { final, state } = await this.store.finish(taskId, this.id, epoch, outcome, failure.message, this.config.retentionMs, retryDelayMs);
    this.log.info({ taskId, attempt: claimed.attempt, final, state, retryDelayMs, error: truncateBytes(failure.message, 200) }, "task failed");
    if (state === "cancelled") return { ran: true };
    // The record decides whether another attempt comes; BullMQ only re-delivers when it does.
    throw final ? new UnrecoverableError(failure.message) : new RetryLaterError(failure.message, retryDelayMs);
  }

  /**
   * Ends a completed run without waiting for Redis's answer, so that the slot takes its next job
   * a round trip sooner. The finish goes out on the worker's connection, and BullMQ's
   * moveToFinished for this job follows it on the same socket: Redis runs the finish first, so a
   * job is never completed while its record says running (an agent that dies between the two
   * leaves the finish alone, as it did when the finish was awaited). Only a NOSCRIPT answer can
   * reorder them (a SCRIPT FLUSH, a failover; store/scripts.ts): the finish is then sent again,
   * after, and an agent that dies before it lands leaves the task to the reconciler, which runs it
   * again. Whatever the answer, a completed run's job completes: the record decides what the task is.
   */
  private finishCompleted(taskId: string, epoch: number, json: string): void {
    this.finishes.finish(taskId, epoch, "completed", json).then(
      ({ state }) => {
        if (state === "cancelled") this.log.info({ taskId }, "task cancelled while running: its result is dropped");
      },
      (error: unknown) => {
        if (!isConnectionError(error)) this.log.warn({ taskId, epoch, error: messageOf(error) }, "finishing a completed task failed");
      },
    );
  }

  /** A handler's progress report: false when this run no longer holds the task (moved, timed out, finished). */
  private async progress(taskId: string, epoch: number, value: unknown): Promise<boolean> {
    try {
      await reportProgress(this.store, taskId, this.id, epoch, value);
      return true;
    } catch (error) {
      if (error instanceof StoreError) return false;
      throw error;
    }
  }
}

/** A failed attempt with another to come, `delayMs` from now: the worker's backoff strategy reads it. */
class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/** A thrown value's message, bounded; whatever was thrown (a string, an object without toString). */
function messageOf(error: unknown, maxBytes = 500): string {
  let text: string;
  try {
    text = error instanceof Error ? error.message : String(error);
  } catch {
    text = "(an error that cannot be shown as text)";
  }
  return truncateBytes(text, maxBytes);
}

function skipReason(error: unknown): "stale" | "finished" | "missing" | "draining" | undefined {
  if (error instanceof StaleTaskError) return "stale";
  // Fetched just as the agent began to drain: the leader hands the task to another agent.
  if (error instanceof AgentNotAliveError) return "draining";
  if (error instanceof TaskFinishedError || error instanceof AttemptsExhaustedError) return "finished";
  if (error instanceof TaskNotFoundError) return "missing";
  return undefined;
}
