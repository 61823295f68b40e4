import type { Logger } from "pino";
import { jobIdFor } from "@worksteal/protocol";
import type { AgentQueues, Store } from "@worksteal/store";

/** Dead letters kept for people to read; older ones are trimmed. */
const DEAD_LETTERS_KEPT = 10_000;
/**
 * A queued task whose job is missing from its owner's queue is re-added only after this long
 * unchanged: a submit or a move adds the job just after its script, and must not be raced.
 */
const MISSING_JOB_GRACE_MS = 5000;
/** Queued tasks read per round trip when looking for missing jobs. */
const RECORD_PAGE = 1000;

interface QueuedRecord {
  epoch: number;
  updatedAt: number;
  maxAttempts: number;
  attempts: number;
}

export interface MaintenanceResult {
  trimmedEvents: number;
  /** Folded counters overwritten with the truth, or undefined while events were still being folded. */
  workloadCorrections: number | undefined;
  jobsReadded: number;
}

/**
 * What the leader does every few seconds so that figures converge and nothing leaks: corrects
 * drifted workload counters, re-adds a job that a crash left missing from its owner's queue,
 * trims the event stream below what every consumer group acknowledged, and forgets steal
 * operations past their retention. Every correction is counted in the namespace's metrics.
 */
export class Maintenance {
  constructor(
    private readonly store: Store,
    private readonly queues: AgentQueues,
    private readonly retentionMs: number,
    private readonly log: Logger,
  ) {}

  async run(): Promise<MaintenanceResult> {
    const k = this.store.keys;
    const workloadCorrections = await this.store.reconcileWorkloads();
    const jobsReadded = await this.readdMissingJobs();
    const trimmedEvents = await this.store.trimEvents(DEAD_LETTERS_KEPT);
    await this.store.redis.zremrangebyscore(k.steals, "-inf", (await this.store.now()) - this.retentionMs);
    const result = { trimmedEvents, workloadCorrections, jobsReadded };
    if ((workloadCorrections ?? 0) + jobsReadded > 0) this.log.warn(result, "reconciler corrected drift");
    return result;
  }

  /**
   * Queued tasks (from the owned sets) whose job at their epoch is absent from their owner's
   * queue, or finished there (a job id that completed or failed would make the add a no-op).
   * Each job is looked up by its id, a page of tasks per round trip, so a quiet queue of any
   * length reads as complete and keeps its order. A task that looks missing is read again
   * before its job is re-added: it may have been claimed and finished meanwhile.
   */
  private async readdMissingJobs(): Promise<number> {
    const k = this.store.keys;
    const now = await this.store.now();
    let readded = 0;
    for (const agentId of await this.store.redis.smembers(k.agents)) {
      const queued = await this.store.redis.smembers(k.queuedOf(agentId));
      for (let start = 0; start < queued.length; start += RECORD_PAGE) {
        const page = queued.slice(start, start + RECORD_PAGE);
        const records = await this.readQueued(page, agentId);
        const jobIds = [...records].map(([id, r]) => jobIdFor(id, r.epoch));
        const states = await this.queues.jobStates(agentId, jobIds);
        const suspects = [...records].filter(([id, r]) => {
          const state = states.get(jobIdFor(id, r.epoch));
          return (state === "absent" || state === "finished") && now - r.updatedAt >= MISSING_JOB_GRACE_MS;
        });
        if (suspects.length === 0) continue;
        const again = await this.readQueued(suspects.map(([id]) => id), agentId);
        const queue = this.queues.get(agentId);
        for (const [id, before] of suspects) {
          const record = again.get(id);
          if (!record || record.epoch !== before.epoch) continue;
          await queue.remove(jobIdFor(id, record.epoch)).catch(() => undefined);
          await this.queues.enqueue(agentId, id, record.epoch, Math.max(1, record.maxAttempts - record.attempts));
          readded += 1;
        }
      }
    }
    if (readded > 0) await this.store.redis.hincrby(k.metrics, "reconciler.jobs_readded", readded);
    return readded;
  }

  /** Of `ids`, the tasks still queued on `agentId`, with what re-adding a job needs. */
  private async readQueued(ids: string[], agentId: string): Promise<Map<string, QueuedRecord>> {
    const pipeline = this.store.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.store.keys.task(id), "owner", "state", "epoch", "updatedAt", "maxAttempts", "attempts");
    const replies = (await pipeline.exec()) ?? [];
    const records = new Map<string, QueuedRecord>();
    ids.forEach((id, i) => {
      const [error, value] = replies[i] ?? [new Error("no reply"), null];
      if (error) throw error;
      const [owner, state, epoch, updatedAt, maxAttempts, attempts] = value as Array<string | null>;
      if (owner !== agentId || state !== "queued") return;
      records.set(id, { epoch: Number(epoch), updatedAt: Number(updatedAt), maxAttempts: Number(maxAttempts), attempts: Number(attempts) });
    });
    return records;
  }
}
