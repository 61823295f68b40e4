import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { agentQueueName, jobIdFor, type Keys } from "@worksteal/protocol";

/** What a task's BullMQ job carries: the task record is the truth, the job only points at it. */
export interface TaskJobData {
  taskId: string;
  epoch: number;
}

/** Finished jobs are kept only briefly: the task record holds the outcome. */
const KEEP_FINISHED = { count: 1000 } as const;
/** Job ids looked up per round trip by `jobStates`. */
const STATE_PAGE = 1000;

/**
 * Where a job is: `active` (taken by a worker), `waiting` (wait, prioritized or delayed: not yet
 * taken), `finished` (completed or failed, kept briefly by BullMQ) or `absent` (no such job).
 */
export type JobState = "active" | "waiting" | "finished" | "absent";

/** BullMQ queues of a namespace's agents, opened once each and shared. */
export class AgentQueues {
  private readonly queues = new Map<string, Queue<TaskJobData>>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  get(agentId: string): Queue<TaskJobData> {
    let queue = this.queues.get(agentId);
    if (!queue) {
      queue = new Queue<TaskJobData>(agentQueueName(agentId), { connection: this.redis, prefix: this.keys.bullPrefix });
      // Connection errors surface in the calls that fail; unhandled here, BullMQ would print each one.
      queue.on("error", () => undefined);
      this.queues.set(agentId, queue);
    }
    return queue;
  }

  /**
   * Adds the task's job to its owner's queue. The job id is derived from task id and epoch, so
   * adding the same task at the same epoch twice leaves one job.
   */
  async enqueue(agentId: string, taskId: string, epoch: number, attempts: number): Promise<void> {
    await this.enqueueMany(agentId, [{ taskId, epoch, attempts }]);
  }

  /** `enqueue` for several tasks of one agent in one round trip. */
  async enqueueMany(agentId: string, tasks: ReadonlyArray<{ taskId: string; epoch: number; attempts: number }>): Promise<void> {
    if (tasks.length === 0) return;
    await this.get(agentId).addBulk(
      tasks.map(({ taskId, epoch, attempts }) => ({
        name: "task",
        data: { taskId, epoch },
        opts: { jobId: jobIdFor(taskId, epoch), attempts: Math.max(1, attempts), removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED },
      })),
    );
  }

  /**
   * The state of each of `jobIds` in the agent's queue, from the job hashes (pipelined, a page
   * of ids per round trip) and one read of the active list, which workers keep as short as their
   * slots. Listing the wait list instead would cost as much and miss jobs moved mid-listing. A
   * job that moves from waiting to active meanwhile may read `waiting`; none reads `absent`
   * or `finished` unless it was so.
   */
  async jobStates(agentId: string, jobIds: readonly string[]): Promise<Map<string, JobState>> {
    const queue = this.get(agentId);
    const states = new Map<string, JobState>();
    for (let start = 0; start < jobIds.length; start += STATE_PAGE) {
      const page = jobIds.slice(start, start + STATE_PAGE);
      // The active list first: a job read here and finished before its hash is read shows finished.
      const pipeline = this.redis.pipeline().lrange(queue.toKey("active"), 0, -1);
      // BullMQ writes `timestamp` when it adds a job and `finishedOn` only when it completes or
      // fails for good (a retry leaves it unset, and a retried failed job loses it).
      for (const id of page) pipeline.hmget(queue.toKey(id), "timestamp", "finishedOn");
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

  /** Agents whose queue object is open here. */
  openIds(): string[] {
    return [...this.queues.keys()];
  }

  /** Closes and drops the agent's queue object (its keys stay); `get` opens it again if needed. */
  async forget(agentId: string): Promise<void> {
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
  }
}
