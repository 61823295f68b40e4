import type { Queue } from "bullmq";
import type { Logger } from "pino";
import { type AgentView, type Config, type Directive, jobIdFor } from "@worksteal/protocol";
import { findBestAgent } from "@worksteal/planner";
import { type AgentQueues, readAgents, StaleTaskError, type Store, TaskNotFoundError, TaskNotRunningError } from "@worksteal/store";
import { withQueueCounts } from "./snapshot.js";

/** Queued tasks of one leaving agent considered per round. */
const EVACUATE_BATCH = 500;
/** Tasks per evacuation directive. */
const EVACUATE_DIRECTIVE_MAX = 200;

export interface ReapResult {
  /** Tasks put into evacuation directives this round. */
  evacuating: number;
  /** Running tasks of dead agents given to others after their lock expired. */
  reclaimed: number;
  /** Tasks parked unassigned: no live agent can run them. */
  parked: number;
}

/**
 * The leader's reaper. An agent whose heartbeat is older than its TTL is dead; a draining one
 * hands over its queue. Their queued tasks go to live capable agents through the normal move
 * path (directives, executed by any replica, recorded as steal operations). A dead agent's
 * running tasks are reassigned once their BullMQ lock has expired: nobody runs BullMQ's stalled
 * check on a dead agent's queue, so the reaper does. A task no live agent can run is parked
 * unassigned, visibly, and placed as soon as a capable agent appears.
 */
export class Reaper {
  private round = 0;

  constructor(
    private readonly store: Store,
    private readonly queues: AgentQueues,
    private readonly directives: Queue<Directive>,
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  async reap(fence: number): Promise<ReapResult> {
    const result: ReapResult = { evacuating: 0, reclaimed: 0, parked: 0 };
    const agents = await readAgents(this.store, this.config.agentTtlMs);
    const leaving = agents.filter((a) => a.status === "dead" || a.status === "draining");
    if (leaving.length === 0) return result;
    this.round += 1;
    const live = await Promise.all(agents.filter((a) => a.status === "alive").map((a) => withQueueCounts(a, this.queues)));
    const inFlight = new Set(
      (await this.directives.getJobs(["wait", "active", "delayed", "prioritized"])).flatMap((job) =>
        job && job.data.fence === fence ? [job.data.source] : [],
      ),
    );
    for (const agent of leaving) {
      if (agent.status === "dead") result.reclaimed += await this.reclaimRunning(agent, live, fence);
      // One evacuation at a time per agent: its directives in flight already cover its queue.
      if (inFlight.has(agent.id)) continue;
      const { evacuating, parked } = await this.evacuateQueued(agent, live, fence);
      result.evacuating += evacuating;
      result.parked += parked;
    }
    if (result.evacuating + result.reclaimed + result.parked > 0) this.log.info({ ...result, fence }, "reaped");
    return result;
  }

  private async evacuateQueued(agent: AgentView, live: AgentView[], fence: number): Promise<{ evacuating: number; parked: number }> {
    const ids = await this.store.redis.srandmember(this.store.keys.queuedOf(agent.id), EVACUATE_BATCH);
    const records = await this.readRecords(ids);
    const perTarget = new Map<string, number>();
    let parked = 0;
    for (const [i, id] of ids.entries()) {
      const record = records[i];
      if (!record || record.owner !== agent.id || record.state !== "queued") continue;
      const best = findBestAgent(record, live);
      if (best) {
        best.workload.queued += 1;
        perTarget.set(best.id, (perTarget.get(best.id) ?? 0) + 1);
      } else if (await this.park(id, agent.id, "queued", record.epoch, fence)) {
        parked += 1;
      }
    }
    const createdAt = await this.store.now();
    const directives: Directive[] = [];
    for (const [target, total] of perTarget) {
      for (let left = total; left > 0; left -= EVACUATE_DIRECTIVE_MAX) {
        directives.push({
          id: `f${fence}-evac${this.round}-${agent.id}-${target}-${directives.length + 1}`,
          fence,
          source: agent.id,
          target,
          count: Math.min(left, EVACUATE_DIRECTIVE_MAX),
          reason: agent.status === "dead" ? `evacuate dead agent ${agent.id}` : `hand over the queue of draining agent ${agent.id}`,
          createdAt,
        });
      }
    }
    if (directives.length > 0) {
      await this.directives.addBulk(
        directives.map((d) => ({ name: "evacuate", data: d, opts: { jobId: d.id, attempts: 3, removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } } })),
      );
    }
    return { evacuating: directives.reduce((n, d) => n + d.count, 0), parked };
  }

  /** Running tasks of a dead agent whose job lock has expired go to a live capable agent, or wait unassigned. */
  private async reclaimRunning(agent: AgentView, live: AgentView[], fence: number): Promise<number> {
    const ids = await this.store.redis.smembers(this.store.keys.runningOf(agent.id));
    if (ids.length === 0) return 0;
    const records = await this.readRecords(ids);
    const queue = this.queues.get(agent.id);
    let reclaimed = 0;
    for (const [i, id] of ids.entries()) {
      const record = records[i];
      if (!record || record.owner !== agent.id || record.state !== "running") continue;
      const jobId = jobIdFor(id, record.epoch);
      // The lock key is BullMQ's `<queue key>:<job id>:lock`, renewed while a worker runs the job.
      if ((await this.store.redis.exists(queue.toKey(`${jobId}:lock`))) === 1) continue;
      const best = findBestAgent(record, live);
      const epoch = await this.reassign(id, agent.id, best?.id ?? "", "running", record.epoch, fence);
      if (epoch === undefined) continue;
      if (best) {
        best.workload.queued += 1;
        await this.queues.enqueue(best.id, id, epoch, Math.max(1, record.maxAttempts - record.attempts));
      }
      await queue.remove(jobId).catch(() => undefined);
      reclaimed += 1;
    }
    return reclaimed;
  }

  private async park(taskId: string, from: string, state: "queued" | "running", epoch: number, fence: number): Promise<boolean> {
    const newEpoch = await this.reassign(taskId, from, "", state, epoch, fence);
    if (newEpoch === undefined) return false;
    await this.queues.get(from).remove(jobIdFor(taskId, epoch)).catch(() => undefined);
    return true;
  }

  /** The new epoch, or undefined when the task changed meanwhile (it is then not ours to take). */
  private async reassign(taskId: string, from: string, to: string, state: "queued" | "running", epoch: number, fence: number): Promise<number | undefined> {
    try {
      return await this.store.reassign(taskId, from, to, state, epoch, fence);
    } catch (error) {
      if (error instanceof StaleTaskError || error instanceof TaskNotRunningError || error instanceof TaskNotFoundError) return undefined;
      throw error;
    }
  }

  private async readRecords(ids: string[]) {
    if (ids.length === 0) return [];
    const pipeline = this.store.redis.pipeline();
    for (const id of ids) {
      pipeline.hmget(this.store.keys.task(id), "owner", "state", "epoch", "requiredCapabilities", "type", "estimatedDurationMs", "maxAttempts", "attempts");
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([, value]) => {
      const [owner, state, epoch, caps, type, estimate, maxAttempts, attempts] = (value ?? []) as Array<string | null>;
      if (owner === null || owner === undefined) return undefined;
      return {
        owner,
        state,
        epoch: Number(epoch),
        requiredCapabilities: JSON.parse(caps ?? "[]") as string[],
        type: type ?? "default",
        ...(estimate ? { estimatedDurationMs: Number(estimate) } : {}),
        maxAttempts: Number(maxAttempts ?? 1),
        attempts: Number(attempts ?? 0),
      };
    });
  }
}
