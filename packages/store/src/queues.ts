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

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
