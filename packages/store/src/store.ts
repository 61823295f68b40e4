import type { RedisConnection } from "./connection.js";
import {
  type AgentProfile,
  type AgentStatus,
  EVENT_FIELD,
  type Effects,
  LEGACY_FOLD_GROUP,
  type Keys,
  keysFor,
  MAX_ERROR_BYTES,
  type Namespace,
  type TaskRecord,
  TaskRecordSchema,
  type TaskSpec,
  type TaskState,
  truncateBytes,
  type Backoff,
  MAX_EVENT_BYTES,
  storedBackoffText,
} from "@worksteal/protocol";
import { check, errorForCode, isAgentRefusal, LegacyFoldPendingError, SCRIPT_CODES, StoreError } from "./errors.js";
import { foldArgs } from "./fold-args.js";
import { type OwnFoldResult, ownFoldResultOf } from "./fold-own.js";
import { timeToMs } from "./replies.js";
import { queueScript, type ScriptArg, type ScriptRunner, scriptRunner } from "./scripts.js";
import { parseStoredBackoff } from "./stored-backoff.js";
import { firstTaskJobArgs, prioritizedJobKeys, QUEUE_EVENTS_MAX_LEN } from "./task-job.js";

/** A task to submit on `owner` ("": none); `payloadJson`, when given, is its payload's JSON, not made again. */
export interface SubmitEntry {
  task: TaskSpec;
  owner: string;
  payloadJson?: string;
}

export interface SubmitResult {
  created: boolean;
  owner: string;
  epoch: number;
  state: string;
}

/** An entry to fold: its effects and checks, or the reason it goes to the dead-letter stream (printable ASCII). */
export type FoldEntry = ({ id: string } & Effects) | { id: string; dead: string };

/** Distinct task types whose durations are folded (each takes two fields); more are not counted. */
export const MAX_TASK_TYPES = 1000;
/** An event's time may be this far ahead of the Redis clock (agents' clocks play no part in it). */
const EVENT_AHEAD_MS = 60_000;
/** An event's time may be this far behind: a backlog folded after a long outage of every replica. */
const EVENT_BEHIND_MS = 7 * 24 * 3600 * 1000;

export interface FoldResult {
  applied: number;
  deadLettered: number;
  /** Entries not applied because the fold cursor had moved: another fold took them first. */
  alreadyFolded: number;
}

/** Where folding stands: the last folded entry's id, and how many entries were folded since the stream began. */
export interface FoldCursor {
  id: string;
  folded: number;
}

/** A task its owner may now run. */
export interface ClaimedTask {
  attempt: number;
  /** The owner was already running it: BullMQ re-delivered a stalled job. */
  restarted: boolean;
  type: string;
  payload: unknown;
  requiredCapabilities: string[];
  maxAttempts: number;
  timeoutMs: number | undefined;
  backoff: Readonly<Backoff> | undefined;
}

const DEFAULT_RETENTION_MS = 24 * 3600 * 1000;
/** The configuration's default `agentTtlMs`, for stores made without one. */
const DEFAULT_AGENT_TTL_MS = 15_000;

export type RunOutcome = "completed" | "failed" | "retry";

export interface FinishResult {
  /** The run's duration on the Redis clock. */
  durationMs: number;
  /** The task is finished for good (done, failed with no retry to come, or cancelled). */
  final: boolean;
  /** Its state now: `cancelled` when a cancel came while it ran, whatever the outcome asked. */
  state: TaskState;
}

/** What removeAgent-7.lua answered. */
export type RemoveAgentResult =
  | { removed: true }
  | {
      removed: false;
      /**
       * `unknown`: never registered (or already removed); `alive`: its heartbeat is too recent;
       * `holds-tasks`: tasks queued on it or running; `has-jobs`: jobs left in its BullMQ queue;
       * `unfolded`: events about it are still to be folded (ask again later).
       */
      reason: "unknown" | "alive" | "holds-tasks" | "has-jobs" | "unfolded";
      heartbeatAgeMs?: number;
      queued?: number;
      running?: number;
      jobs?: number;
    };

/** Typed wrappers over the namespace's Lua scripts. Each call is one atomic script. */
export class Store {
  readonly keys: Keys;
  private readonly run: ScriptRunner;

  /** An agent whose heartbeat is older than this is dead: it is given no task. */
  readonly agentTtlMs: number;

  constructor(
    readonly redis: RedisConnection,
    readonly namespace: Namespace,
    options: { agentTtlMs?: number } = {},
  ) {
    this.keys = keysFor(namespace);
    this.run = scriptRunner(redis);
    this.agentTtlMs = options.agentTtlMs ?? DEFAULT_AGENT_TTL_MS;
  }

  /**
   * Creates a task on `owner` (or unassigned, with "") and, with an owner, adds its BullMQ job
   * to the owner's queue in the same script; a task id that exists is returned as it is (and no
   * job is added). Throws AgentUnknownError, AgentNotAliveError or AgentIncapableError for a new
   * task whose owner may not take it, and a TypeError for a delayed task given an owner (it has
   * none until it is due). `payloadJson`, when given, is the payload's JSON (the caller's
   * validation made it): the payload is not serialised again.
   */
  async submit(task: TaskSpec, owner: string, payloadJson?: string): Promise<SubmitResult> {
    const [keys, args] = this.submitCall({ task, owner, payloadJson });
    const result = submitResult(await this.run("submit", keys, args), task, owner);
    if (result instanceof StoreError) throw result;
    return result;
  }

  /**
   * `submit` for many tasks in one round trip: one pipeline of submit scripts, in order. Each
   * script is atomic, the batch is not. Each result is what `submit` returns, or the
   * StoreError it would throw (a refused owner); any other failure rejects the whole call.
   */
  async submitMany(entries: readonly SubmitEntry[]): Promise<Array<SubmitResult | StoreError>> {
    if (entries.length === 0) return [];
    const pipeline = this.redis.pipeline();
    const calls = entries.map((entry) => this.submitCall(entry));
    for (const [keys, args] of calls) queueScript(this.redis, pipeline, "submit", keys, args);
    const replies = (await pipeline.exec()) ?? [];
    return entries.map(({ task, owner }, i) => {
      const [error, reply] = replies[i] ?? [new Error("no reply from the submit pipeline")];
      if (error) throw error;
      return submitResult(reply, task, owner);
    });
  }

  private submitCall({ task, owner, payloadJson }: SubmitEntry): [string[], ScriptArg[]] {
    const k = this.keys;
    if (owner !== "" && isDelayed(task)) throw new TypeError(`task ${task.id} is delayed: it has no owner until it is due`);
    // Without an owner there is no job: its keys and arguments are unused (any of the namespace's keys).
    const jobKeys = owner === "" ? new Array<string>(9).fill(k.unassigned) : prioritizedJobKeys(k, owner);
    const jobArgs = owner === "" ? ["", "", ""] : firstTaskJobArgs(k, owner, task.id, task.maxAttempts, task.priority);
    return [
      [
        k.task(task.id),
        k.events,
        owner === "" ? (isDelayed(task) ? k.delayed : k.unassigned) : k.queuedOf(owner),
        owner === "" ? k.unassigned : k.agent(owner),
        ...jobKeys,
      ],
      [
        task.id,
        owner,
        task.type,
        payloadJson ?? JSON.stringify(task.payload ?? null),
        JSON.stringify(task.requiredCapabilities),
        task.priority,
        task.estimatedDurationMs ?? "",
        task.maxAttempts,
        this.agentTtlMs,
        JSON.stringify({
          backoff: task.backoff && storedBackoffText(task.backoff),
          timeoutMs: task.timeoutMs,
          delayMs: task.delayMs,
          runAt: task.runAt,
        }),
        ...jobArgs,
        QUEUE_EVENTS_MAX_LEN,
      ],
    ];
  }

  /** Gives an unassigned task its first owner, which must take tasks; returns the new epoch. */
  async assign(taskId: string, owner: string, expectedEpoch: number): Promise<number> {
    const k = this.keys;
    const reply = (await this.run(
      "assign",
      [k.task(taskId), k.events, k.unassigned, k.queuedOf(owner), k.agent(owner)],
      [taskId, owner, expectedEpoch, this.agentTtlMs],
    )) as number;
    return check(reply, isAgentRefusal(reply) ? owner : taskId);
  }

  /**
   * Starts one attempt of a task on its owner. Throws StaleTaskError, TaskFinishedError,
   * TaskNotFoundError, or AttemptsExhaustedError (the task is then failed, and expires after
   * `retentionMs`).
   */
  async claim(taskId: string, agentId: string, epoch: number, retentionMs = DEFAULT_RETENTION_MS): Promise<ClaimedTask> {
    const raw = await this.run(
      "claim",
      [this.keys.task(taskId), this.keys.events, this.keys.queuedOf(agentId), this.keys.runningOf(agentId), this.keys.agent(agentId)],
      [taskId, agentId, epoch, retentionMs],
    );
    return claimedTaskOf(raw, taskId, agentId);
  }

  /**
   * Claims several tasks for `agentId` in one script call (claimMany-4.lua), each exactly as
   * `claim` would: one answer per claim, in order, the claimed task or the error `claim` would
   * have thrown for it (a refusal, or a record this release cannot read): one claim's error does
   * not affect the others. A failure of the call itself (a lost connection) rejects, as it would
   * have rejected each claim; so would an error Redis raised inside the script, which keeps the
   * writes it made before (claimMany-4.lua says why no call of the store meets one).
   */
  async claimMany(
    agentId: string,
    claims: ReadonlyArray<{ taskId: string; epoch: number }>,
    retentionMs = DEFAULT_RETENTION_MS,
  ): Promise<Array<ClaimedTask | Error>> {
    if (claims.length === 0) return [];
    const args: ScriptArg[] = [agentId, retentionMs];
    for (const { taskId, epoch } of claims) args.push(taskId, epoch);
    const k = this.keys;
    const replies = (await this.run("claimMany", [k.events, k.queuedOf(agentId), k.runningOf(agentId), k.agent(agentId)], args)) as unknown[];
    return answersOf(claims, (claim, i) => claimedTaskOf(replies[i], claim.taskId, agentId));
  }

  /**
   * Ends a run: `detail` is the result's JSON when completed, else the error (cut to
   * MAX_ERROR_BYTES). A retry of a task with no attempt left is final. A finished task's record
   * expires after `retentionMs`. A retry runs `retryDelayMs` from now at the earliest (its backoff).
   */
  async finish(
    taskId: string,
    agentId: string,
    epoch: number,
    outcome: RunOutcome,
    detail: string,
    retentionMs = DEFAULT_RETENTION_MS,
    retryDelayMs = 0,
  ): Promise<FinishResult> {
    const raw = await this.run(
      "finish",
      [this.keys.task(taskId), this.keys.events, this.keys.queuedOf(agentId), this.keys.runningOf(agentId)],
      [taskId, agentId, epoch, outcome, outcome === "completed" ? detail : truncateBytes(detail, MAX_ERROR_BYTES), retentionMs, retryDelayMs],
    );
    return finishResultOf(raw, taskId);
  }

  /**
   * Ends several runs of `agentId`'s tasks in one script call (finishMany-3.lua), each exactly as
   * `finish` would: one answer per run, in order, its result or the error `finish` would have
   * thrown for it: one run's error does not affect the others. A failure of the call itself (a
   * lost connection) rejects, as it would have rejected each finish; so would an error Redis
   * raised inside the script, which keeps the writes it made before (finishMany-3.lua says why no
   * call of the store meets one).
   */
  async finishMany(
    agentId: string,
    runs: ReadonlyArray<{ taskId: string; epoch: number; outcome: RunOutcome; detail: string; retryDelayMs?: number }>,
    retentionMs = DEFAULT_RETENTION_MS,
  ): Promise<Array<FinishResult | Error>> {
    if (runs.length === 0) return [];
    const args: ScriptArg[] = [agentId, retentionMs];
    for (const { taskId, epoch, outcome, detail, retryDelayMs = 0 } of runs)
      args.push(taskId, epoch, outcome, outcome === "completed" ? detail : truncateBytes(detail, MAX_ERROR_BYTES), retryDelayMs);
    const k = this.keys;
    const replies = (await this.run("finishMany", [k.events, k.queuedOf(agentId), k.runningOf(agentId)], args)) as unknown[];
    return answersOf(runs, (run, i) => finishResultOf(replies[i], run.taskId));
  }

  /**
   * Moves a queued task from `source` to `target` for a directive; returns the new epoch.
   * Throws FenceRejectedError, StaleTaskError, TaskNotQueuedError, or
   * AgentUnknownError / AgentNotAliveError when the target may not take tasks. The same move
   * made again (a replay) returns the same epoch while the task still waits on the target.
   */
  async move(
    taskId: string,
    source: string,
    target: string,
    expectedEpoch: number,
    directive: { id: string; fence: number },
    moveLogTtlMs: number,
  ): Promise<number> {
    const k = this.keys;
    const reply = (await this.run(
      "move",
      [k.task(taskId), k.events, k.fence, k.stealMoves(directive.id), k.queuedOf(source), k.queuedOf(target), k.agent(target)],
      [taskId, source, target, expectedEpoch, directive.fence, directive.id, moveLogTtlMs, this.agentTtlMs],
    )) as number;
    return check(reply, reply === SCRIPT_CODES.FENCE_REJECTED ? directive.id : isAgentRefusal(reply) ? target : taskId);
  }

  /**
   * Folds `entries`, the entries that follow the cursor `after` in stream order, if the cursor
   * still stands there (else nothing is applied and the whole batch is `alreadyFolded`), and
   * moves the cursor to the last of them.
   */
  async fold(entries: FoldEntry[], after: string): Promise<FoldResult> {
    if (entries.length === 0) return { applied: 0, deadLettered: 0, alreadyFolded: 0 };
    const k = this.keys;
    const reply = (await this.run(
      "fold",
      [k.events, k.deadLetter, k.metrics, k.foldCursor],
      [after, k.prefix, MAX_TASK_TYPES * 2, EVENT_AHEAD_MS, EVENT_BEHIND_MS, ...foldArgs(entries)],
    )) as [number, number, number];
    return { applied: reply[0], deadLettered: reply[1], alreadyFolded: reply[2] };
  }

  /**
   * The fold's fast path (foldOwn-3.lua): folds, inside Redis, the marked task events among the
   * next `count` entries after the cursor `after`, up to the first entry that is anything else;
   * undefined (nothing applied) when the cursor no longer stands at `after`. With `after` '', from
   * wherever the cursor stands (undefined only when it is missing): for a call pipelined behind
   * another, whose reply says where the cursor went.
   */
  async foldOwn(after: string, count: number): Promise<OwnFoldResult | undefined> {
    const k = this.keys;
    const reply = await this.run(
      "foldOwn",
      [k.events, k.metrics, k.foldCursor],
      [after, k.prefix, MAX_TASK_TYPES * 2, EVENT_AHEAD_MS, EVENT_BEHIND_MS, count, MAX_EVENT_BYTES],
    );
    return ownFoldResultOf(reply);
  }

  /** The fold cursor, made when missing (from an earlier version's consumer group, if any: see foldCursor-2.lua). */
  async foldCursor(): Promise<FoldCursor> {
    const [id, folded] = (await this.run("foldCursor", [this.keys.events, this.keys.foldCursor], [LEGACY_FOLD_GROUP])) as [string | number, number];
    if (id === SCRIPT_CODES.LEGACY_FOLD_PENDING) {
      throw new LegacyFoldPendingError(
        `the consumer group ${LEGACY_FOLD_GROUP} of earlier versions has ${folded} pending entries: stop the old coordinators first`,
        id,
      );
    }
    return { id: String(id), folded: Number(folded) };
  }

  /** Takes or extends the fold lease for `replicaId` (see foldLease-1.lua); the other holder's time left when refused. */
  async holdFoldLease(replicaId: string, ttlMs: number): Promise<{ held: boolean; remainingMs: number }> {
    const [held, remainingMs] = (await this.run("foldLease", [this.keys.foldLease], [replicaId, ttlMs])) as [number, number];
    return { held: held === 1, remainingMs: Number(remainingMs) };
  }

  /** Gives the fold lease up if `replicaId` holds it, so that another replica folds at once. */
  async releaseFoldLease(replicaId: string): Promise<void> {
    await this.run("foldLease", [this.keys.foldLease], [replicaId, 0]);
  }

  async registerAgent(profile: AgentProfile): Promise<number> {
    const k = this.keys;
    return (await this.run(
      "register",
      [k.agent(profile.id), k.agents, k.events, k.heartbeats, k.agentChanges],
      [profile.id, JSON.stringify(profile.capabilities), profile.concurrency, profile.priority],
    )) as number;
  }

  /** Refreshes the agent's liveness; returns the status it is asked to have (draining after `drain`). */
  async heartbeat(agentId: string, cpu: number, memoryMb: number): Promise<{ at: number; status: AgentStatus }> {
    const reply = check(
      await this.run("heartbeat", [this.keys.agent(agentId), this.keys.heartbeats], [agentId, Math.min(100, Math.max(0, cpu)).toFixed(1), memoryMb.toFixed(1)]),
      agentId,
    ) as [number, AgentStatus];
    return { at: Number(reply[0]), status: reply[1] };
  }

  /** Asks an agent to drain (idempotent). */
  async drain(agentId: string): Promise<void> {
    check((await this.run("drain", [this.keys.agent(agentId), this.keys.events, this.keys.agentChanges], [agentId])) as number, agentId);
  }

  /**
   * Marks a draining agent drained if it holds no task. Says "draining" while it still holds
   * some, and "undrained" when it was taken back (or never asked to drain).
   */
  async markDrained(agentId: string): Promise<"drained" | "draining" | "undrained"> {
    const k = this.keys;
    const reply = (await this.run("markDrained", [k.agent(agentId), k.queuedOf(agentId), k.runningOf(agentId), k.agentChanges], [agentId])) as number;
    if (reply === 1) return "drained";
    if (reply === 0) return "draining";
    if (reply === SCRIPT_CODES.NOT_DRAINING) return "undrained";
    throw new StoreError(`markDrained answered ${reply} for agent ${agentId}`, reply);
  }

  /**
   * Deletes a dead letter and appends `eventJson` (its event, checked by the caller) to the stream,
   * atomically. Undefined when the letter is gone: replayed or dropped meanwhile, by someone else.
   */
  async replayDeadLetter(letterId: string, eventJson: string): Promise<string | undefined> {
    const reply = await this.run("replayDeadLetter", [this.keys.deadLetter, this.keys.events], [letterId, EVENT_FIELD, eventJson]);
    return typeof reply === "string" ? reply : undefined;
  }

  /** Takes a draining or drained agent back: alive, given tasks, taking jobs again. */
  async undrain(agentId: string): Promise<void> {
    check((await this.run("undrain", [this.keys.agent(agentId), this.keys.agentChanges], [agentId])) as number, agentId);
  }

  /** Forgets removed agents in the heartbeat and agent-change sorted sets (see forgetAgents-2.lua). */
  async forgetAgents(agentIds: readonly string[]): Promise<void> {
    if (agentIds.length === 0) return;
    await this.run("forgetAgents", [this.keys.heartbeats, this.keys.agentChanges], [...agentIds]);
  }

  /**
   * Deletes a gone agent's hash, sets and workload, unless its heartbeat is younger than
   * `minHeartbeatAgeMs`, it holds tasks, its BullMQ queue holds jobs, or events about it are
   * still to be folded. The caller then obliterates its BullMQ queue (AgentQueues.obliterate).
   */
  async removeAgent(agentId: string, minHeartbeatAgeMs: number): Promise<RemoveAgentResult> {
    const k = this.keys;
    const [code, a, b] = (await this.run(
      "removeAgent",
      [k.agent(agentId), k.agents, k.queuedOf(agentId), k.runningOf(agentId), k.workload(agentId), k.events, k.foldCursor],
      [agentId, minHeartbeatAgeMs, k.agentQueueKeys(agentId)],
    )) as [number, number?, number?];
    switch (code) {
      case 1:
        await this.forgetAgents([agentId]);
        return { removed: true };
      case 0:
        return { removed: false, reason: "unfolded" };
      case SCRIPT_CODES.AGENT_HEARD_RECENTLY:
        return { removed: false, reason: "alive", heartbeatAgeMs: Number(a) };
      case SCRIPT_CODES.AGENT_HOLDS_TASKS:
        return { removed: false, reason: "holds-tasks", queued: Number(a), running: Number(b) };
      case SCRIPT_CODES.AGENT_HAS_JOBS:
        return { removed: false, reason: "has-jobs", jobs: Number(a) };
      case SCRIPT_CODES.AGENT_UNKNOWN:
        return { removed: false, reason: "unknown" };
      default:
        throw new StoreError(`removeAgent of ${agentId}: unexpected reply ${code}`, code);
    }
  }

  /** Forgets replicas whose heartbeat is older than `replicaMaxAgeMs` (and their roles); returns how many. */
  async pruneReplicas(replicaMaxAgeMs: number): Promise<number> {
    const k = this.keys;
    return (await this.run("pruneReplicas", [k.replicas, k.replicaRoles], [replicaMaxAgeMs])) as number;
  }

  /**
   * The leader gives a task of a dead or draining agent to `to`, or parks it unassigned (`to` =
   * ""); returns the new epoch. Throws FenceRejectedError, StaleTaskError, TaskNotRunningError
   * or TaskNotQueuedError (not in `state`), or AgentUnknownError / AgentNotAliveError when `to` may not take tasks.
   */
  async reassign(taskId: string, from: string, to: string, state: "queued" | "running", expectedEpoch: number, fence: number): Promise<number> {
    const k = this.keys;
    const fromSet = state === "queued" ? k.queuedOf(from) : k.runningOf(from);
    const reply = (await this.run(
      "reassign",
      [k.task(taskId), k.events, k.fence, fromSet, to === "" ? k.unassigned : k.queuedOf(to), k.unassigned, to === "" ? k.unassigned : k.agent(to)],
      [taskId, from, to, state, expectedEpoch, fence, this.agentTtlMs],
    )) as number;
    return check(reply, reply === SCRIPT_CODES.FENCE_REJECTED ? `reassign of ${taskId}` : isAgentRefusal(reply) ? to : taskId);
  }

  /**
   * Takes or extends the leader lease for one process start: `token` is unique to it, so a
   * restart under the same replica id is a new leadership with a new fence.
   */
  async acquireLease(
    replicaId: string,
    ttlMs: number,
    token: string,
  ): Promise<{ held: true; fence: number } | { held: false; holder: string; remainingMs: number }> {
    const [held, value, ttl] = (await this.run("acquireLease", [this.keys.leader, this.keys.fence], [replicaId, ttlMs, token])) as [
      number,
      number | string,
      number,
    ];
    return held === 1 ? { held: true, fence: Number(value) } : { held: false, holder: String(value), remainingMs: Number(ttl) };
  }

  /** Extends the lease of this leadership; throws LeaseLostError when it is gone. */
  async renewLease(replicaId: string, fence: number, ttlMs: number): Promise<void> {
    check((await this.run("renewLease", [this.keys.leader], [replicaId, fence, ttlMs])) as number, replicaId);
  }

  /** Gives the lease up; false when this leadership no longer held it. */
  async releaseLease(replicaId: string, fence: number): Promise<boolean> {
    return ((await this.run("releaseLease", [this.keys.leader], [replicaId, fence])) as number) === 1;
  }

  /**
   * Trims the event stream below the fold cursor (the last folded entry is kept) and what other
   * consumer groups on it have not acknowledged (see trim-3.lua), and the dead-letter
   * stream to its newest `keepDeadLetters` entries; returns how many events were trimmed.
   */
  async trimEvents(keepDeadLetters: number): Promise<number> {
    const [trimmed] = (await this.run("trim", [this.keys.events, this.keys.deadLetter, this.keys.foldCursor], [keepDeadLetters, LEGACY_FOLD_GROUP])) as [
      number,
      string,
    ];
    return trimmed;
  }

  /**
   * Sets the queued/running counts (the fleet's load sets) of each of `agentIds` that is
   * registered and whose counts differ from the sizes of its task sets; returns how many were
   * corrected. The task scripts keep them equal, so anything but 0 is drift from outside them
   * (a hand edit).
   */
  async reconcileWorkloads(agentIds: readonly string[]): Promise<number> {
    if (agentIds.length === 0) return 0;
    const k = this.keys;
    return (await this.run("reconcile", [k.agents, k.metrics], [k.prefix, ...agentIds])) as number;
  }

  /**
   * One page (SSCAN `cursor`, about `count` tasks) of the agent's queued tasks whose job at their
   * epoch is absent from its queue or finished there, among those unchanged since
   * `unchangedSince` (ms, Redis clock), looked up inside Redis (findMissingJobs-1.lua): one call
   * per page, the suspects only in the reply. `cursor` is "0" once the set has been gone through.
   */
  async findMissingJobs(
    agentId: string,
    cursor: string,
    count: number,
    unchangedSince: number,
  ): Promise<{ cursor: string; checked: number; suspects: Array<{ taskId: string; epoch: number }> }> {
    const k = this.keys;
    const [next, checked, ...flat] = (await this.run(
      "findMissingJobs",
      [k.queuedOf(agentId)],
      [k.prefix, agentId, k.agentQueueKeys(agentId), cursor, count, unchangedSince],
    )) as [string, number, ...string[]];
    const suspects: Array<{ taskId: string; epoch: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) suspects.push({ taskId: flat[i]!, epoch: Number(flat[i + 1]) });
    return { cursor: next, checked, suspects };
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const hash = await this.redis.hgetall(this.keys.task(taskId));
    if (Object.keys(hash).length === 0) return undefined;
    return TaskRecordSchema.parse(hash);
  }

  /**
   * How many tasks were ever moved off an agent (move; reassign, parking included): equal at two
   * reads when no move ran between them.
   */
  async readMoveCount(): Promise<number> {
    const value = (await this.redis.get(this.keys.moves)) ?? "0";
    // A hand-edited value would read as NaN, never equal to itself: every round would re-read in vain.
    if (!/^\d+$/.test(value)) throw new Error(`${this.keys.moves} holds ${JSON.stringify(value.slice(0, 40))}, not a count of moves`);
    return Number(value);
  }

  /** Milliseconds on the Redis clock: the one clock every process agrees on. */
  async now(): Promise<number> {
    return timeToMs(await this.redis.time());
  }
}

/** A task to hold back until it is due: it waits in the delayed set, with no owner. */
export function isDelayed(task: Pick<TaskSpec, "delayMs" | "runAt">, now = Date.now()): boolean {
  return (task.delayMs ?? 0) > 0 || (task.runAt ?? 0) > now;
}

/** The submit script's reply: the task's result, or the refusal as a StoreError. */
function submitResult(reply: unknown, task: TaskSpec, owner: string): SubmitResult | StoreError {
  const typed = reply as [number, string, number, string] | number;
  if (typeof typed === "number") return errorForCode(typed, isAgentRefusal(typed) ? owner : task.id);
  return { created: typed[0] === 1, owner: typed[1], epoch: Number(typed[2]), state: typed[3] };
}

/** A claim's reply as the task to run, or the typed error of its refusal (thrown). */
function claimedTaskOf(raw: unknown, taskId: string, agentId: string): ClaimedTask {
  const reply = check(raw, isAgentRefusal(raw) ? agentId : taskId);
  const [attempt, restarted, type, payload, requiredCapabilities, maxAttempts, timeoutMs, backoff] = reply as [
    number,
    number,
    string,
    string,
    string,
    number,
    string,
    string,
  ];
  return {
    attempt,
    restarted: restarted === 1,
    type,
    payload: JSON.parse(payload) as unknown,
    requiredCapabilities: JSON.parse(requiredCapabilities) as string[],
    maxAttempts: Number(maxAttempts),
    timeoutMs: timeoutMs === "" ? undefined : Number(timeoutMs),
    backoff: backoff === "" ? undefined : parseStoredBackoff(backoff),
  };
}

/** A finish's reply as the run's result, or the typed error of its refusal (thrown). */
function finishResultOf(raw: unknown, taskId: string): FinishResult {
  const reply = check(raw, taskId) as [number, number, TaskState];
  return { durationMs: Number(reply[0]), final: reply[1] === 1, state: reply[2] };
}

/**
 * One answer per request of a batch script's call, in order: what `answerOf` makes of its reply,
 * or the error it throws, whatever its kind (a refusal, or a record this release cannot read).
 * The script has done its writes for every request by then: one unreadable reply must not take
 * its batch-mates' answers with it.
 */
function answersOf<R, T>(requests: readonly R[], answerOf: (request: R, i: number) => T): Array<T | Error> {
  return requests.map((request, i) => {
    try {
      return answerOf(request, i);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  });
}
