import { performance } from "node:perf_hooks";
import { Queue } from "bullmq";
import { agentQueueName, bullPriorityOf, DIRECTIVE_QUEUE, type Directive, type Keys } from "@worksteal/protocol";
import { type ConnectionLog, isConnectionError, type RedisConnection } from "./connection.js";
import { errorSummary } from "./log.js";
import { replyValues, timeToMs } from "./replies.js";
import type { Store } from "./store.js";
import { QUEUE_EVENTS_MAX_LEN, TASK_JOB_NAME, type TaskJobData, taskJobOptions } from "./task-job.js";

/**
 * Where a queued task's job waits in its agent's BullMQ queue, read in this order, each
 * descending (lowest priority and newest first: the steal candidates): every job carries a
 * priority, so jobs due wait in `prioritized` (`wait` holds only jobs added before priorities
 * were passed on); a retry's backoff waits in `delayed`, read last (a move keeps its due time).
 */
export const QUEUED_JOB_STATES: Array<"prioritized" | "wait" | "delayed"> = ["prioritized", "wait", "delayed"];
/** Job ids looked up per round trip by `jobStates`. */
const STATE_PAGE = 1000;

/**
 * Where a job is: `active` (taken by a worker), `waiting` (wait, prioritized or delayed: not yet
 * taken), `finished` (completed or failed, and kept: a job written by an earlier version, which BullMQ kept a while) or `absent` (no such job).
 */
export type JobState = "active" | "waiting" | "finished" | "absent";

/** BullMQ queues of a namespace's agents, opened once each and shared. */
export class AgentQueues {
  private readonly queues = new Map<string, Queue<TaskJobData>>();
  /** When each open queue object was last handed out (monotonic clock, ms), so that idle ones can be closed. */
  private readonly lastUsed = new Map<string, number>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
    /** Told of a queue's errors other than a lost connection (which the connection reports once). */
    private readonly log?: ConnectionLog,
    /** Only reads (the CLI's inspection): BullMQ then skips its write of the queue's meta hash, which a read-only Redis user may not do. */
    private readonly options: { readOnly?: boolean } = {},
  ) {}

  get(agentId: string): Queue<TaskJobData> {
    this.lastUsed.set(agentId, performance.now());
    let queue = this.queues.get(agentId);
    if (!queue) {
      queue = new Queue<TaskJobData>(agentQueueName(agentId), {
        connection: this.redis,
        prefix: this.keys.bullPrefix,
        streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } },
        ...(this.options.readOnly === true ? { skipMetasUpdate: true } : {}),
      });
      // Unhandled, BullMQ would print each error with a stack; connection errors also fail the calls that meet them.
      queue.on("error", (error) => {
        if (!isConnectionError(error)) this.log?.warn({ agentId, error: errorSummary(error) }, "agent queue error");
      });
      this.queues.set(agentId, queue);
    }
    return queue;
  }

  /**
   * Whether a worker holds the job's lock: BullMQ's `<queue key>:<job id>:lock`, renewed while a
   * worker runs the job and gone once it has stopped renewing it.
   */
  async isLocked(agentId: string, jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.keyOf(agentId, `${jobId}:lock`))) === 1;
  }

  /**
   * Removes a job left over by a move or a reassignment; false when it stays. A leftover does no
   * harm (its claim fails as stale), so this never throws: a job a worker has just taken stays
   * (BullMQ refuses to remove a locked job), a lost connection is reported by the connection,
   * and any other failure is logged.
   */
  async removeLeftover(agentId: string, jobId: string): Promise<boolean> {
    try {
      return (await this.get(agentId).remove(jobId)) === 1;
    } catch (error) {
      if (!isConnectionError(error)) this.log?.warn({ agentId, jobId, error: errorSummary(error) }, "leftover job not removed");
      return false;
    }
  }

  /**
   * Adds the task's job to its owner's queue. The job id is derived from task id and epoch, so
   * adding the same task at the same epoch twice leaves one job.
   */
  async enqueue(agentId: string, taskId: string, epoch: number, attempts: number): Promise<void> {
    await this.enqueueMany(agentId, [{ taskId, epoch, attempts }]);
  }

  /**
   * `enqueue` for several tasks of one agent. A job runs by its task's priority (BullMQ's
   * reversed: `bullPriorityOf`), not before the task is due (a retry's backoff, which a move
   * keeps): both are read from the records, in one round trip.
   */
  async enqueueMany(agentId: string, tasks: ReadonlyArray<{ taskId: string; epoch: number; attempts: number }>): Promise<void> {
    if (tasks.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { taskId } of tasks) pipeline.hmget(this.keys.task(taskId), "priority", "runAt");
    const values = replyValues(await pipeline.time().exec(), "the tasks' priorities");
    const now = timeToMs(values[tasks.length] as [string, string]);
    const jobs = tasks.map(({ taskId, epoch, attempts }, i) => {
      const [priority, runAt] = values[i] as [string | null, string | null];
      return {
        name: TASK_JOB_NAME,
        data: { taskId, epoch },
        opts: taskJobOptions(taskId, epoch, attempts, bullPriorityOf(Number(priority ?? 0)), Math.max(0, Number(runAt ?? 0) - now)),
      };
    });
    const queue = this.get(agentId);
    // One job goes by `add`: `addBulk` builds an ioredis pipeline, which copies every script
    // defined on the connection (BullMQ's, some forty-five) onto a new object, and
    // that cost more CPU than the rest of a single submit.
    if (jobs.length === 1) await queue.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts);
    else await queue.addBulk(jobs);
  }

  /**
   * The state of each of `jobIds` in the agent's queue, from the job hashes (pipelined, a page
   * of ids per round trip) and one read of the active list, which workers keep as short as their
   * slots. Listing the wait list instead would cost as much and miss jobs moved mid-listing. A
   * job that moves from waiting to active meanwhile may read `waiting`; none reads `absent`
   * or `finished` unless it was so.
   */
  async jobStates(agentId: string, jobIds: readonly string[]): Promise<Map<string, JobState>> {
    const states = new Map<string, JobState>();
    for (let start = 0; start < jobIds.length; start += STATE_PAGE) {
      const page = jobIds.slice(start, start + STATE_PAGE);
      // The active list first: a job read here and finished before its hash is read shows finished.
      const pipeline = this.redis.pipeline().lrange(this.keyOf(agentId, "active"), 0, -1);
      // BullMQ writes `timestamp` when it adds a job and `finishedOn` only when it completes or
      // fails for good (a retry leaves it unset, and a retried failed job loses it).
      for (const id of page) pipeline.hmget(this.keyOf(agentId, id), "timestamp", "finishedOn");
      const replies = (await pipeline.exec()) ?? [];
      const values = replies.map(([error, value]) => {
        if (error) throw error;
        return value;
      });
      const active = new Set(values[0] as string[]);
      page.forEach((id, i) => {
        const [timestamp, finishedOn] = values[i + 1] as [string | null, string | null];
        states.set(id, timestamp === null ? "absent" : finishedOn !== null ? "finished" : active.has(id) ? "active" : "waiting");
      });
    }
    return states;
  }

  /**
   * A key of the agent's BullMQ queue (`active`, `wait`, a job id...), as BullMQ's `toKey` names
   * it, without opening a queue object: reads that only look need none.
   */
  private keyOf(agentId: string, suffix: string): string {
    return `${this.keys.agentQueueKeys(agentId)}${suffix}`;
  }

  /**
   * Closes the queue objects not handed out for `maxIdleMs` (their keys stay; `get` opens them
   * again): each holds listeners and some kilobytes, and over a long run a leader would otherwise
   * keep one for every agent it ever moved a task to or from. Returns how many it closed.
   */
  async forgetIdle(maxIdleMs: number): Promise<number> {
    const before = performance.now() - maxIdleMs;
    const idle = [...this.lastUsed].flatMap(([id, at]) => (at < before ? [id] : []));
    await Promise.all(idle.map((id) => this.forget(id)));
    return idle.length;
  }

  /** Agents whose queue object is open here. */
  openIds(): string[] {
    return [...this.queues.keys()];
  }

  /** Closes and drops the agent's queue object (its keys stay); `get` opens it again if needed. */
  async forget(agentId: string): Promise<void> {
    this.lastUsed.delete(agentId);
    const queue = this.queues.get(agentId);
    if (!queue) return;
    this.queues.delete(agentId);
    await queue.close();
  }

  /** Deletes every key of the agent's queue, jobs included (for a removed agent), and forgets it. */
  async obliterate(agentId: string): Promise<void> {
    await this.get(agentId).obliterate({ force: true });
    await this.forget(agentId);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    this.lastUsed.clear();
  }
}

/** The namespace's directive queue (BullMQ), on the store's connection. */
export function openDirectiveQueue(store: Store): Queue<Directive> {
  return new Queue<Directive>(DIRECTIVE_QUEUE, { connection: store.redis, prefix: store.keys.bullPrefix });
}

/**
 * The job ids an agent will run last, at most `length`: its BullMQ prioritized set read lowest
 * priority and newest first (every job carries a priority), then its wait list (jobs added before
 * priorities). Read directly, so that no BullMQ queue object is opened for it.
 */
export async function readLastQueuedJobIds(store: Store, agentId: string, length: number): Promise<string[]> {
  const queueKeys = store.keys.agentQueueKeys(agentId);
  const [prioritized, waiting] = replyValues(
    await store.redis
      .pipeline()
      .zrevrange(`${queueKeys}prioritized`, 0, length - 1)
      .lrange(`${queueKeys}wait`, 0, length - 1)
      .exec(),
    "an agent's queued job ids",
  ) as [string[], string[]];
  return [...prioritized, ...waiting].slice(0, length);
}
