import type { AgentId, Namespace, TaskId } from "./ids.js";

/**
 * The consumer group through which coordinators of earlier versions folded the event stream. This
 * version folds with a cursor (keys.foldCursor) and no group; a namespace that has the group starts
 * its cursor where the group had read (foldCursor-2.lua), and nothing else reads the group.
 */
export const LEGACY_FOLD_GROUP = "coordinators";

/**
 * The one place that names Redis keys. Every key of a namespace starts with `ws:{ns}:` so that
 * Lua scripts may touch any of them and a Redis Cluster keeps the namespace on one slot. BullMQ
 * queues get the same hash tag through their prefix.
 */
export function keysFor(namespace: Namespace) {
  const prefix = `ws:{${namespace}}:`;
  return {
    namespace,
    /** Prefix handed to Lua scripts that derive per-agent keys themselves (as BullMQ does). */
    prefix,
    /** Event stream: the language-neutral protocol. */
    events: `${prefix}events`,
    /** Malformed events, each with the reason it was refused. */
    deadLetter: `${prefix}events:dead`,
    /**
     * Hash: how far the event stream is folded: `id`, the last folded entry, and `folded`, the
     * entries folded since the stream began (lag = the stream's entries-added − folded).
     */
    foldCursor: `${prefix}fold`,
    /** String: the replica that folds now (SET NX PX, renewed while it folds; see foldLease-1.lua). */
    foldLease: `${prefix}fold:lease`,
    /** Set of every agent id ever registered. */
    agents: `${prefix}agents`,
    /** Hash: an agent's profile and last heartbeat (written directly, not folded). */
    agent: (id: AgentId) => `${prefix}agent:${id}`,
    /** Set: ids of the tasks queued on an agent, kept exact by the task scripts. */
    queuedOf: (id: AgentId) => `${prefix}agent:${id}:queued`,
    /** Set: ids of the tasks an agent is running, kept exact by the task scripts. */
    runningOf: (id: AgentId) => `${prefix}agent:${id}:running`,
    /**
     * Sorted set: agent id -> tasks queued on it. The one source of that figure for the whole
     * fleet: the task scripts change it with the agent's queued set, in the same step
     * (lua/includes/agentLoads.lua), and the scripts derive this key from the prefix. An agent
     * absent from it holds none.
     */
    queuedCounts: `${prefix}${LOADS_SUFFIX}queued`,
    /** Sorted set: agent id -> tasks it runs; kept like `queuedCounts`, with the running set. */
    runningCounts: `${prefix}${LOADS_SUFFIX}running`,
    /**
     * Sorted set: agent id -> when its queued or running count last changed (ms, Redis clock),
     * written with the count: the leader reads again only the loads of the agents changed since
     * its last read. (Task starts and most submits append no event to say so.)
     */
    loadsChanged: `${prefix}${LOADS_SUFFIX}changed`,
    /**
     * Hash: an agent's workload. Folded from events: done, failed, stolenIn/Out, durations, cpu and
     * memory. Its `queued` and `running` fields are a copy of `queuedCounts` / `runningCounts`
     * written by the task scripts in the same step, for readers of the whole hash.
     */
    workload: (id: AgentId) => `${prefix}${workloadSuffix(id)}`,
    /** Hash: per task type, the sum and count of run durations, folded from events. */
    durations: `${prefix}durations`,
    /** Hash: a task's record: spec, owner, state, epoch. */
    task: (id: TaskId) => `${prefix}task:${id}`,
    /**
     * Counter of tasks moved off an agent (move script; reassign script, parking included): the leader's
     * planner reads it before and after a snapshot, so it knows whether a move ran across it.
     */
    moves: `${prefix}moves`,
    /** Sorted set (score: submit time) of tasks that no live agent could take yet. */
    unassigned: `${prefix}unassigned`,
    /** Sorted set (score: when due, Redis clock) of delayed tasks: no agent holds them until then. */
    delayed: `${prefix}delayed`,
    /**
     * Sorted set: agent id -> its last heartbeat (ms, Redis clock), written by the register and
     * heartbeat scripts beside the hash's `lastHeartbeat`: which agents went quiet is one range read.
     */
    heartbeats: `${prefix}heartbeats`,
    /**
     * Sorted set: agent id -> the number of its latest registration or status change (register,
     * drain, undrain, markDrained scripts): a reader that saw up to number n re-reads only the agents
     * scored above n.
     */
    agentChanges: `${prefix}agent-changes`,
    /** Counter: the fence, one more at every new leadership or planning authority. */
    fence: `${prefix}fence`,
    /** Hash: the current leader lease {holder, fence, acquiredAt}; expires with the lease. */
    leader: `${prefix}leader`,
    /** Hash: replica id -> last heartbeat (ms). */
    replicas: `${prefix}replicas`,
    /** Hash: replica id -> its own view of its role: `leader:<fence>` or `follower`. */
    replicaRoles: `${prefix}replica-roles`,
    /** Sorted set (score: time) of steal operation ids, and each operation's hash. */
    steals: `${prefix}steals`,
    steal: (id: string) => `${prefix}steal:${id}`,
    /** Hash: task id -> epoch after the move, for every move a directive has made so far. */
    stealMoves: (id: string) => `${prefix}steal:${id}:moves`,
    /** Hash: task id -> handler runs, kept by the demo's and tests' agents to catch a double run. */
    runLog: `${prefix}runs`,
    /** Hash: `<task id>@<epoch>` -> handler runs at that epoch (same purpose: telling a move's double run from a crash's). */
    runEpochLog: `${prefix}runs:epochs`,
    /** Hash: `<task id>@<epoch>` -> handler runs at that epoch that took up a run cut off (TaskContext.restarted). */
    runRestartLog: `${prefix}runs:restarts`,
    /** Hash: counters of what the coordinators did (e.g. reconciler corrections). */
    metrics: `${prefix}${METRICS_SUFFIX}`,
    /** BullMQ prefix for every queue of the namespace (agent queues and the directive queue). */
    bullPrefix: `ws:{${namespace}}:q`,
    /** Start of every BullMQ key of an agent's queue (`<bullPrefix>:<queue name>:`), for scripts that look inside it. */
    agentQueueKeys: (id: AgentId) => `ws:{${namespace}}:q:${agentQueueName(id)}:`,
  } as const;
}

export type Keys = ReturnType<typeof keysFor>;

/** Key suffix (after the namespace prefix) of an agent's workload hash; Lua scripts build it too. */
export function workloadSuffix(id: AgentId): string {
  return `workload:${id}`;
}

export const DURATIONS_SUFFIX = "durations";
export const METRICS_SUFFIX = "metrics";
/** Field of the metrics hash counting cancelled tasks (folded from `task:cancelled`: a cancelled task may have no agent). */
export const TASKS_CANCELLED_FIELD = "tasksCancelled";

/** Start of the suffix of the fleet's load sorted sets (`loads:queued`, `loads:running`); Lua scripts build them too. */
export const LOADS_SUFFIX = "loads:";

/** The BullMQ queue name of an agent's own queue. */
export function agentQueueName(id: AgentId): string {
  return `agent.${id}`;
}

export const DIRECTIVE_QUEUE = "directives";

/**
 * BullMQ job id for a task at an epoch. A re-add of the same task at the same epoch is a no-op
 * in BullMQ, so a retried submit or move never queues the task twice; after a move the new
 * epoch gives a new id, so the target's queue accepts it.
 */
export function jobIdFor(taskId: TaskId, epoch: number): string {
  return `t.${taskId}.${epoch}`;
}

/** The task id and epoch a task's job id carries, or undefined for a job id of another shape. */
export function parseJobId(jobId: string): { taskId: TaskId; epoch: number } | undefined {
  const dot = jobId.lastIndexOf(".");
  if (!jobId.startsWith("t.") || dot <= 2) return undefined;
  const epoch = Number(jobId.slice(dot + 1));
  return Number.isInteger(epoch) ? { taskId: jobId.slice(2, dot), epoch } : undefined;
}
