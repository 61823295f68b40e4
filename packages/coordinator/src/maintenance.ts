import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { type Config, jobIdFor } from "@worksteal/protocol";
import {
  type AgentQueues,
  forgetStealsBefore,
  incrementMetrics,
  readQuietAgents,
  readTaskFields,
  type Store,
  syncHeartbeats,
  type TaskFields,
} from "@worksteal/store";
import type { AgentDirectory } from "./agent-directory.js";

/** Dead letters kept for people to read; older ones are trimmed. */
const DEAD_LETTERS_KEPT = 10_000;
/**
 * A queued task whose job is missing from its owner's queue is re-added only after this long
 * unchanged: a submit or a move adds the job just after its script, and must not be raced.
 */
const MISSING_JOB_GRACE_MS = 5000;
/** Queued tasks of one agent looked at per call when looking for missing jobs (an SSCAN count: a hint). */
const RECORD_PAGE = 1000;
/**
 * A pass looks at the tasks and jobs of this many agents at most, the next pass going on after
 * the last one (a resumable scan): the work of a pass does not grow with the fleet.
 */
const AGENTS_PER_PASS = 500;
/** A pass starts on no further agent once it has checked this many queued tasks (an agent begun is finished). */
const TASKS_PER_PASS = 10_000;
/** A pass starts on no further agent once it has run this long (the next pass goes on from there). */
const PASS_BUDGET_MS = 500;
/** Agents whose queues are checked at once. */
const AGENTS_AT_ONCE = 8;
/**
 * Agent records the leader's directory reads again per pass, for changes no change number
 * announced (see AgentDirectory.recheck): 10,000 agents are re-checked every 40 passes. A
 * thousand took 100-270 ms of a pass on a loaded machine.
 */
const RECHECKED_PER_PASS = 250;
/** Dead agents a pass considers for removal at most. */
const REMOVALS_PER_PASS = 100;

/**
 * A replica is forgotten once its heartbeat is this many lease TTLs (or heartbeat periods, if
 * longer) old: far beyond any pause a live replica survives as leader.
 */
const REPLICA_RETENTION_FACTOR = 10;
export interface MaintenanceResult {
  trimmedEvents: number;
  /** Folded counters overwritten with the truth, or undefined while events were still being folded. */
  workloadCorrections: number | undefined;
  jobsReadded: number;
  /** Dead agents holding nothing, removed after `agentRetentionMs`. */
  agentsRemoved: number;
  /** Replicas gone from the registry. */
  replicasForgotten: number;
  /** Agents whose tasks and jobs this pass looked at (its share of the scan). */
  agentsScanned: number;
}

/**
 * What the leader does every few seconds so that figures converge and nothing leaks: corrects
 * drifted workload counters, re-adds a job that a crash left missing from its owner's queue,
 * trims the event stream below the fold cursor (and what any other consumer group still needs), and forgets steal
 * operations past their retention. Every correction is counted in the namespace's metrics.
 * It also forgets what is gone, so that agents and replicas restarting under new ids leave
 * nothing behind: dead agents that hold no task, replicas without a heartbeat.
 * Per-agent work is a resumable scan: each pass takes the next share of the fleet (by id, from
 * the leader's directory, stopping early past a task count or half a second), so a pass costs
 * the same at 100 agents or 10,000.
 */
export class Maintenance {
  /** The last agent id the scan looked at; the next pass starts after it. */
  private cursor = "";
  private removalOffset = 0;
  /** The agents of the latest pass's share, for the repairs that go with it. */
  lastShare: string[] = [];

  constructor(
    private readonly store: Store,
    private readonly queues: AgentQueues,
    private readonly directory: AgentDirectory,
    private readonly config: Pick<Config, "retentionMs" | "agentTtlMs" | "agentRetentionMs" | "leaseTtlMs" | "heartbeatIntervalMs">,
    private readonly log: Logger,
  ) {}

  async run(): Promise<MaintenanceResult> {
    await this.directory.refresh();
    await this.directory.recheck(RECHECKED_PER_PASS);
    const share = this.nextShare();
    const workloadCorrections = await this.store.reconcileWorkloads(share);
    const { readded: jobsReadded, scanned } = await this.readdMissingJobs(share);
    // The agents the pass looked at only: a pass that ran out of time leaves the rest of its share to the next.
    await syncHeartbeats(this.store, scanned);
    this.cursor = scanned.length > 0 ? scanned[scanned.length - 1]! : "";
    this.lastShare = scanned;
    const trimmedEvents = await this.store.trimEvents(DEAD_LETTERS_KEPT);
    await forgetStealsBefore(this.store, (await this.store.now()) - this.config.retentionMs);
    const agentsRemoved = await this.removeGoneAgents();
    const replicasForgotten = await this.store.pruneReplicas(REPLICA_RETENTION_FACTOR * Math.max(this.config.leaseTtlMs, this.config.heartbeatIntervalMs));
    if (replicasForgotten > 0) {
      await incrementMetrics(this.store, { "maintenance.replicas_forgotten": replicasForgotten });
      this.log.info({ replicasForgotten }, "forgot replicas that are gone");
    }
    const result = { trimmedEvents, workloadCorrections, jobsReadded, agentsRemoved, replicasForgotten, agentsScanned: scanned.length };
    // A corrected count appends no event: the leader's view of the loads would not see it otherwise.
    if ((workloadCorrections ?? 0) > 0) this.directory.forgetLoads();
    if ((workloadCorrections ?? 0) + jobsReadded > 0) this.log.warn(result, "reconciler corrected drift");
    return result;
  }

  /** The next AGENTS_PER_PASS agents by id after the cursor, from the start again past the last. */
  private nextShare(): string[] {
    const ids = this.directory.ids();
    const after = ids.filter((id) => id > this.cursor);
    return (after.length > 0 ? after : ids).slice(0, AGENTS_PER_PASS);
  }

  /**
   * Agents dead for `agentRetentionMs` that hold no task and no job: their keys go (removeAgent
   * script), then their BullMQ queue and their members in the sorted sets. One that still holds
   * something is kept until the reaper has moved it away; one with events still to fold is
   * removed at a later pass. At most REMOVALS_PER_PASS are looked at, oldest heartbeat first,
   * read from the heartbeat sorted set; when none of a full page could go, the next pass looks
   * further on.
   */
  private async removeGoneAgents(): Promise<number> {
    const minAge = this.config.agentTtlMs + this.config.agentRetentionMs;
    const now = await this.store.now();
    const candidates = await readQuietAgents(this.store, now - minAge, this.removalOffset, REMOVALS_PER_PASS);
    const removed: string[] = [];
    for (const { id } of candidates) {
      const result = await this.store.removeAgent(id, minAge);
      if (!result.removed) continue;
      await this.queues.obliterate(id);
      this.directory.forget(id);
      removed.push(id);
    }
    this.removalOffset = candidates.length === REMOVALS_PER_PASS && removed.length === 0 ? this.removalOffset + REMOVALS_PER_PASS : 0;
    if (removed.length > 0) {
      await incrementMetrics(this.store, { "maintenance.agents_removed": removed.length });
      // A few ids per pass: a fleet's worth would be a long line.
      this.log.info({ removed: removed.length, agentIds: removed.slice(0, 10) }, "removed agents dead past their retention");
    }
    return removed.length;
  }

  /**
   * Queued tasks (from the owned sets) whose job at their epoch is absent from their owner's
   * queue, or finished there (a job id that completed or failed would make the add a no-op).
   * Redis looks them up, a page of the agent's queued set per call (findMissingJobs), and
   * returns only the suspects: reading every task and job hash into the coordinator cost two
   * commands per task, which at 10,000 agents were most of its heap growth. A suspect is read
   * again before its job is re-added: it may have been claimed and finished meanwhile.
   */
  private async readdMissingJobs(share: readonly string[]): Promise<{ readded: number; scanned: string[] }> {
    const unchangedSince = (await this.store.now()) - MISSING_JOB_GRACE_MS;
    const started = performance.now();
    let readded = 0;
    let checked = 0;
    const scanned: string[] = [];
    for (let start = 0; start < share.length && checked < TASKS_PER_PASS && performance.now() - started < PASS_BUDGET_MS; start += AGENTS_AT_ONCE) {
      const agents = share.slice(start, start + AGENTS_AT_ONCE);
      const found = await Promise.all(agents.map((agentId) => this.readdMissingJobsOf(agentId, unchangedSince)));
      scanned.push(...agents);
      for (const f of found) {
        readded += f.readded;
        checked += f.checked;
      }
    }
    if (readded > 0) await incrementMetrics(this.store, { "reconciler.jobs_readded": readded });
    return { readded, scanned };
  }

  /** One agent's share of `readdMissingJobs`: how many jobs it re-added and how many queued tasks it checked. */
  private async readdMissingJobsOf(agentId: string, unchangedSince: number): Promise<{ readded: number; checked: number }> {
    let readded = 0;
    let checked = 0;
    let cursor = "0";
    do {
      const page = await this.store.findMissingJobs(agentId, cursor, RECORD_PAGE, unchangedSince);
      cursor = page.cursor;
      checked += page.checked;
      if (page.suspects.length === 0) continue;
      const again = await this.readQueued(
        page.suspects.map((s) => s.taskId),
        agentId,
      );
      for (const { taskId, epoch } of page.suspects) {
        const record = again.get(taskId);
        if (!record || record.epoch !== epoch) continue;
        // A finished job under the same id would make the add a no-op.
        await this.queues.removeLeftover(agentId, jobIdFor(taskId, record.epoch));
        await this.queues.enqueue(agentId, taskId, record.epoch, Math.max(1, record.maxAttempts - record.attempts));
        readded += 1;
      }
    } while (cursor !== "0");
    return { readded, checked };
  }

  /** Of `ids`, the tasks still queued on `agentId`, with what re-adding a job needs. */
  private async readQueued(ids: string[], agentId: string): Promise<Map<string, TaskFields>> {
    const fields = await readTaskFields(this.store, ids);
    const records = new Map<string, TaskFields>();
    ids.forEach((id, i) => {
      const record = fields[i];
      if (record?.owner === agentId && record.state === "queued") records.set(id, record);
    });
    return records;
  }
}
