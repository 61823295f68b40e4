import { bullPriorityOf, jobIdFor, type Keys, type TaskId } from "@worksteal/protocol";
// The version BullMQ 6.7 pins, with the options it packs with: the bytes its scripts unpack.
import { Packr } from "msgpackr";

/** The name every task job carries. */
export const TASK_JOB_NAME = "task";
/**
 * The backoff every task job names: the agent's worker computes it (`backoffStrategy`) from the
 * task's own backoff, and the retry's due time is on the task record.
 */
export const TASK_BACKOFF_TYPE = "worksteal";
/**
 * A task's job is removed as soon as it finishes: the task record holds the outcome (for
 * `retentionMs`), and nothing reads a finished job. Kept (BullMQ's `{ count: 1000 }` of each
 * kind, as before), they cost each agent's queue some 1.7 KB a job, megabytes an agent.
 */
export const REMOVE_WHEN_FINISHED = true;
/**
 * Entries of each agent queue's BullMQ events stream (`<queue>:events`; BullMQ's default is
 * 10,000). Nothing in worksteal reads it (its own stream carries the events, QueueEvents is not
 * used), but every job appends to it: at 10,000 entries it holds about 0.6 MB a queue.
 * BullMQ trims it approximately, so it holds a little more than this.
 */
export const QUEUE_EVENTS_MAX_LEN = 100;
/** The epoch a new task takes on its first owner (submit-13.lua): its first job's id ends with it. */
const FIRST_EPOCH = 1;

/** What a task's BullMQ job carries: the task record is the truth, the job only points at it. */
export interface TaskJobData {
  taskId: string;
  epoch: number;
}

/** The options of a task's job, as given to BullMQ's `add` (AgentQueues.enqueueMany). */
export function taskJobOptions(taskId: TaskId, epoch: number, attempts: number, bullPriority: number, delay: number) {
  return {
    jobId: jobIdFor(taskId, epoch),
    attempts: Math.max(1, attempts),
    priority: bullPriority,
    delay,
    backoff: { type: TASK_BACKOFF_TYPE },
    removeOnComplete: REMOVE_WHEN_FINISHED,
    removeOnFail: REMOVE_WHEN_FINISHED,
  };
}

const packer = new Packr({ useRecords: false, encodeUndefinedAsNil: true });

/** The keys of an agent's BullMQ queue that addPrioritizedJob takes, in its order (BullMQ's addPrioritizedJobArgs). */
export function prioritizedJobKeys(keys: Keys, agentId: string): string[] {
  const queue = keys.agentQueueKeys(agentId);
  return ["marker", "meta", "id", "prioritized", "delayed", "completed", "active", "events", "pc"].map((suffix) => queue + suffix);
}

/**
 * A new task's first job as BullMQ's addPrioritizedJob script takes it (ARGV 1 to 3), built as
 * BullMQ 6.7's `Queue.add` builds them (Job's constructor, `asJSON`, `addJobToTransaction`):
 * the job id `t.<task>.1`, the submitting process's clock as its timestamp, the options with
 * none of them in BullMQ's table of shortened names. task-job.test.ts holds the job stored so to
 * the one `Queue.add` stores.
 */
export function firstTaskJobArgs(keys: Keys, agentId: string, taskId: TaskId, attempts: number, priority: number): [Buffer, string, Buffer] {
  // Job's constructor: its default `attempts` first, then the options given, in their order.
  const options = Object.assign({ attempts: 0 }, taskJobOptions(taskId, FIRST_EPOCH, attempts, bullPriorityOf(priority), 0));
  // addJobToTransaction's args: prefix, id, name, timestamp, parent key, parent dependencies key,
  // parent, repeat job key, deduplication key, defer parent release.
  const args = [keys.agentQueueKeys(agentId), options.jobId, TASK_JOB_NAME, Date.now(), null, null, undefined, undefined, null, null];
  const data: TaskJobData = { taskId, epoch: FIRST_EPOCH };
  return [packer.pack(args), JSON.stringify(data), packer.pack(options)];
}
