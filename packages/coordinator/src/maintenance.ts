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

  /** Queued tasks (from the owned sets) whose job at their epoch is in none of their owner's job lists. */
  private async readdMissingJobs(): Promise<number> {
    const k = this.store.keys;
    const now = await this.store.now();
    let readded = 0;
    for (const agentId of await this.store.redis.smembers(k.agents)) {
      const queued = await this.store.redis.smembers(k.queuedOf(agentId));
      if (queued.length === 0) continue;
      const queue = this.queues.get(agentId);
      const present = new Set(await queue.getRanges(["wait", "delayed", "prioritized", "active"]));
      const pipeline = this.store.redis.pipeline();
      for (const id of queued) pipeline.hmget(k.task(id), "owner", "state", "epoch", "updatedAt", "maxAttempts", "attempts");
      const replies = (await pipeline.exec()) ?? [];
      for (const [i, id] of queued.entries()) {
        const [owner, state, epoch, updatedAt, maxAttempts, attempts] = (replies[i]?.[1] ?? []) as Array<string | null>;
        if (owner !== agentId || state !== "queued" || present.has(jobIdFor(id, Number(epoch)))) continue;
        if (now - Number(updatedAt) < MISSING_JOB_GRACE_MS) continue;
        // A job with this id that failed or completed would make the add a no-op: remove it first.
        await queue.remove(jobIdFor(id, Number(epoch))).catch(() => undefined);
        await this.queues.enqueue(agentId, id, Number(epoch), Math.max(1, Number(maxAttempts) - Number(attempts)));
        readded += 1;
      }
    }
    if (readded > 0) await this.store.redis.hincrby(k.metrics, "reconciler.jobs_readded", readded);
    return readded;
  }
}
