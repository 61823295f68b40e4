import type { Queue } from "bullmq";
import type { Logger } from "pino";
import { type AgentView, type Config, type Directive, jobIdFor } from "@worksteal/protocol";
import { findBestAgent } from "@worksteal/planner";
import {
  type AgentQueues,
  incrementMetrics,
  isRefusedAgent,
  type JobState,
  readQueuedTaskIds,
  readRunningCounts,
  readRunningTaskIds,
  readTaskFields,
  StaleTaskError,
  type Store,
  TaskNotFoundError,
  TaskNotQueuedError,
  TaskNotRunningError,
} from "@worksteal/store";
import type { AgentDirectory } from "./agent-directory.js";
import { readFleet } from "./fleet-view.js";
import type { ReplicaMetrics } from "./metrics.js";

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
  /** Numbers this replica's evacuation directives (unique under its fence). */
  private evacuations = 0;

  constructor(
    private readonly store: Store,
    private readonly queues: AgentQueues,
    private readonly directory: AgentDirectory,
    private readonly directives: Queue<Directive>,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly metrics?: Pick<ReplicaMetrics, "planned" | "reassigned">,
  ) {}

  /**
   * One round. `deadKnown` is false while this leadership is younger than the agent TTL: after
   * a Redis outage or a failover every heartbeat may look stale, and reaping then would move
   * every agent's work; draining agents are handled at once. `agents` is the fleet as the leader
   * round read it (read here when not given).
   */
  async reap(fence: number, deadKnown: boolean, agents?: AgentView[]): Promise<ReapResult> {
    const result: ReapResult = { evacuating: 0, reclaimed: 0, parked: 0 };
    const fleet = agents ?? (await readFleet(this.store, this.directory));
    // A drained agent holds nothing, unless a task reached it in a race with its drain: it is handed over too.
    const leaving = fleet.filter((a) => (a.status === "dead" && deadKnown) || a.status === "draining" || a.status === "drained");
    if (leaving.length === 0) return result;
    // Copies: placements below count the tasks they add, and the caller's views stay as read.
    const live = fleet.filter((a) => a.status === "alive").map((a) => ({ ...a, workload: { ...a.workload } }));
    const inFlight = new Set(
      (await this.directives.getJobs(["wait", "active", "delayed", "prioritized"])).flatMap((job) =>
        job && job.data.fence === fence ? [job.data.source] : [],
      ),
    );
    for (const agent of leaving) {
      if (agent.status === "dead") result.reclaimed += await this.reclaimRunning(agent.id, () => Promise.resolve(live), fence, false);
      // A leaving agent's worker may have taken a job it will not run (it died, or its claim was
      // refused because it drains): that task is queued outside the wait list, evacuation misses it.
      const rescued = await this.rescueQueuedOutsideWait(agent, live, fence);
      result.reclaimed += rescued.reclaimed;
      result.parked += rescued.parked;
      // One evacuation at a time per agent: its directives in flight already cover its queue.
      if (inFlight.has(agent.id)) continue;
      const { evacuating, parked } = await this.evacuateQueued(agent, live, fence);
      result.evacuating += evacuating;
      result.parked += parked;
    }
    this.metrics?.reassigned(result.reclaimed, result.parked);
    if (result.evacuating + result.reclaimed + result.parked > 0) this.log.info({ ...result, fence }, "reaped");
    return result;
  }

  private async evacuateQueued(agent: AgentView, live: AgentView[], fence: number): Promise<{ evacuating: number; parked: number }> {
    const ids = await readQueuedTaskIds(this.store, agent.id, EVACUATE_BATCH);
    const records = await readTaskFields(this.store, ids);
    const perTarget = new Map<string, number>();
    let parked = 0;
    for (const [i, id] of ids.entries()) {
      const record = records[i];
      if (!record || record.owner !== agent.id || record.state !== "queued") continue;
      const best = findBestAgent(record, live);
      if (best) {
        best.workload.queued += 1;
        perTarget.set(best.id, (perTarget.get(best.id) ?? 0) + 1);
      } else if ((await this.giveAway(id, agent.id, record, "queued", [], fence)) === "parked") {
        parked += 1;
      }
    }
    const createdAt = await this.store.now();
    const directives: Directive[] = [];
    for (const [target, total] of perTarget) {
      for (let left = total; left > 0; left -= EVACUATE_DIRECTIVE_MAX) {
        directives.push({
          // Short: agent ids may be long, and source and target are fields of their own.
          id: `f${fence}-e${this.evacuations++}`,
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
        directives.map((d) => ({
          name: "evacuate",
          data: d,
          opts: { jobId: d.id, attempts: 3, removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } },
        })),
      );
      this.metrics?.planned("evacuate", directives.length);
    }
    return { evacuating: directives.reduce((n, d) => n + d.count, 0), parked };
  }

  /**
   * Running tasks that nobody will finish go to a live capable agent, or wait unassigned: those
   * of a dead agent once their job's lock has expired, and (`aliveOwner`) those of a live agent
   * whose job has ended or vanished while the record still says running (a finish that never
   * reached Redis, or BullMQ's stall limit). A live agent's own stalled check handles the rest.
   */
  private async reclaimRunning(agentId: string, live: () => Promise<AgentView[]>, fence: number, aliveOwner: boolean): Promise<number> {
    const ids = await readRunningTaskIds(this.store, agentId);
    if (ids.length === 0) return 0;
    const records = await readTaskFields(this.store, ids);
    // Each job looked up by its id: a listing would have to read the whole queue.
    const jobs = aliveOwner
      ? await this.queues.jobStates(
          agentId,
          ids.flatMap((id, i) => (records[i] ? [jobIdFor(id, records[i].epoch)] : [])),
        )
      : new Map<string, JobState>();
    let reclaimed = 0;
    for (const [i, id] of ids.entries()) {
      const record = records[i];
      if (!record || record.owner !== agentId || record.state !== "running") continue;
      const jobId = jobIdFor(id, record.epoch);
      const state = jobs.get(jobId);
      if (state === "active" || state === "waiting") continue;
      if (await this.queues.isLocked(agentId, jobId)) continue;
      if ((await this.giveAway(id, agentId, record, "running", await live(), fence)) !== undefined) reclaimed += 1;
    }
    return reclaimed;
  }

  /**
   * For the leader's maintenance: running tasks stuck without a job, on the agents of `agentIds`
   * that are not dead (the pass's share of the fleet: a dead agent's are the reaper's). Only the
   * share's running counts are read; the fleet is read only when a stuck task needs a new home.
   */
  async repairStuckRunning(fence: number, agentIds: readonly string[]): Promise<number> {
    const running = await readRunningCounts(this.store, agentIds);
    const candidates = agentIds.filter((id, i) => {
      const status = this.directory.statusOf(id);
      return running[i]! > 0 && status !== undefined && status !== "dead";
    });
    // Copies: placements count the tasks they add, and the round's views stay as read.
    let live: Promise<AgentView[]> | undefined;
    const liveAgents = () =>
      (live ??= readFleet(this.store, this.directory).then((fleet) =>
        fleet.filter((a) => a.status === "alive").map((a) => ({ ...a, workload: { ...a.workload } })),
      ));
    let repaired = 0;
    for (const agentId of candidates) {
      repaired += await this.reclaimRunning(agentId, liveAgents, fence, true);
    }
    if (repaired > 0) {
      await incrementMetrics(this.store, { "reconciler.running_repaired": repaired });
      this.log.warn({ repaired, fence }, "running tasks without a job given to others");
    }
    return repaired;
  }

  /**
   * Queued tasks of a leaving agent whose job is not in its wait list (left `active` by a worker
   * that died between taking the job and claiming it, or a job a draining agent's claim refused):
   * evacuation picks from the wait list only, so these are reassigned one by one.
   */
  private async rescueQueuedOutsideWait(agent: AgentView, live: AgentView[], fence: number): Promise<{ reclaimed: number; parked: number }> {
    const ids = await readQueuedTaskIds(this.store, agent.id, EVACUATE_BATCH);
    if (ids.length === 0) return { reclaimed: 0, parked: 0 };
    const records = await readTaskFields(this.store, ids);
    const jobs = await this.queues.jobStates(
      agent.id,
      ids.flatMap((id, i) => (records[i] ? [jobIdFor(id, records[i].epoch)] : [])),
    );
    let reclaimed = 0;
    let parked = 0;
    for (const [i, id] of ids.entries()) {
      const record = records[i];
      if (!record || record.owner !== agent.id || record.state !== "queued") continue;
      const jobId = jobIdFor(id, record.epoch);
      if (jobs.get(jobId) === "waiting" || (await this.queues.isLocked(agent.id, jobId))) continue;
      const given = await this.giveAway(id, agent.id, record, "queued", live, fence);
      if (given === "placed") reclaimed += 1;
      if (given === "parked") parked += 1;
    }
    return { reclaimed, parked };
  }

  /**
   * Reassigns one task of `from` (fenced compare-and-set) to the best live capable agent and
   * queues it there, or parks it unassigned when there is none; drops its old job. Undefined
   * when the task changed meanwhile and is not ours to take.
   */
  private async giveAway(
    taskId: string,
    from: string,
    record: { epoch: number; requiredCapabilities: string[]; maxAttempts: number; attempts: number },
    state: "queued" | "running",
    live: AgentView[],
    fence: number,
  ): Promise<"placed" | "parked" | undefined> {
    const best = findBestAgent(record, live);
    const epoch = await this.reassignUnlessChanged(taskId, from, best?.id ?? "", state, record.epoch, fence);
    if (epoch === undefined) return undefined;
    if (best) {
      best.workload.queued += 1;
      await this.queues.enqueue(best.id, taskId, epoch, Math.max(1, record.maxAttempts - record.attempts));
    }
    await this.queues.removeLeftover(from, jobIdFor(taskId, record.epoch));
    return best ? "placed" : "parked";
  }

  /** The new epoch, or undefined when the task changed meanwhile (it is then not ours to take). */
  private async reassignUnlessChanged(
    taskId: string,
    from: string,
    to: string,
    state: "queued" | "running",
    epoch: number,
    fence: number,
  ): Promise<number | undefined> {
    try {
      return await this.store.reassign(taskId, from, to, state, epoch, fence);
    } catch (error) {
      // Changed meanwhile, or the chosen agent stopped taking tasks since it was read: next round.
      if (
        error instanceof StaleTaskError ||
        error instanceof TaskNotRunningError ||
        error instanceof TaskNotQueuedError ||
        error instanceof TaskNotFoundError ||
        isRefusedAgent(error)
      )
        return undefined;
      throw error;
    }
  }
}
