import { WorkstealError } from "@worksteal/protocol";

/**
 * Scripts return negative integers for refusals; `errorForCode` is the one place that turns
 * them into typed errors.
 */
export class StoreError extends WorkstealError {
  override name = "StoreError";
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}
export class TaskNotFoundError extends StoreError {
  override name = "TaskNotFoundError";
}
/** The job's owner or epoch is not the task's: the task moved, the job is a leftover. */
export class StaleTaskError extends StoreError {
  override name = "StaleTaskError";
}
export class TaskFinishedError extends StoreError {
  override name = "TaskFinishedError";
}
export class TaskNotRunningError extends StoreError {
  override name = "TaskNotRunningError";
}
/** The task was expected queued (to move or reassign it) but runs or has finished. */
export class TaskNotQueuedError extends StoreError {
  override name = "TaskNotQueuedError";
}
export class AgentUnknownError extends StoreError {
  override name = "AgentUnknownError";
}
export class TaskAlreadyPlacedError extends StoreError {
  override name = "TaskAlreadyPlacedError";
}

/** The directive's fence is not the current one: it comes from a leader that lost its lease. */
export class FenceRejectedError extends StoreError {
  override name = "FenceRejectedError";
}

/** The leader lease expired or passed to another replica. */
export class LeaseLostError extends StoreError {
  override name = "LeaseLostError";
}

/** The task used all of its attempts before this run could start: it is now failed. */
export class AttemptsExhaustedError extends StoreError {
  override name = "AttemptsExhaustedError";
}

/** The agent may not be given tasks or start one: dead, draining or drained. */
export class AgentNotAliveError extends StoreError {
  override name = "AgentNotAliveError";
}

/** The agent lacks a capability the task requires. */
export class AgentIncapableError extends StoreError {
  override name = "AgentIncapableError";
}

/**
 * The consumer group through which earlier versions folded still has entries delivered and not
 * acknowledged: an old coordinator runs, or died mid-batch. The fold cursor is not started then
 * (those entries would never be folded); stop the old coordinators first.
 */
export class LegacyFoldPendingError extends StoreError {
  override name = "LegacyFoldPendingError";
}

/**
 * Every negative reply of the Lua scripts. Most are refusals, thrown by `check` as the typed
 * error `errorForCode` gives; the answers marked below are read by their one caller instead.
 */
export const SCRIPT_CODES = {
  TASK_NOT_FOUND: -1,
  STALE: -2,
  FINISHED: -3,
  NOT_RUNNING: -4,
  AGENT_UNKNOWN: -5,
  ALREADY_PLACED: -6,
  FENCE_REJECTED: -7,
  LEASE_LOST: -8,
  ATTEMPTS_EXHAUSTED: -10,
  AGENT_NOT_ALIVE: -11,
  AGENT_INCAPABLE: -12,
  NOT_QUEUED: -13,
  /** An answer (markDrained): the agent is neither draining nor drained. */
  NOT_DRAINING: -14,
  /** Answers (removeAgent): the agent's heartbeat is too recent, it holds tasks, its queue holds jobs. */
  AGENT_HEARD_RECENTLY: -20,
  AGENT_HOLDS_TASKS: -21,
  AGENT_HAS_JOBS: -22,
  /** An answer (foldCursor), with the count: the legacy fold group has pending entries. */
  LEGACY_FOLD_PENDING: -30,
} as const;

export function errorForCode(code: number, subject: string): StoreError {
  switch (code) {
    case SCRIPT_CODES.TASK_NOT_FOUND:
      return new TaskNotFoundError(`task ${subject} not found`, code);
    case SCRIPT_CODES.STALE:
      return new StaleTaskError(`task ${subject}: owner or epoch changed (stale job)`, code);
    case SCRIPT_CODES.FINISHED:
      return new TaskFinishedError(`task ${subject} already finished`, code);
    case SCRIPT_CODES.NOT_RUNNING:
      return new TaskNotRunningError(`task ${subject} is not running`, code);
    case SCRIPT_CODES.NOT_QUEUED:
      return new TaskNotQueuedError(`task ${subject} is not queued`, code);
    case SCRIPT_CODES.AGENT_UNKNOWN:
      return new AgentUnknownError(`agent ${subject} is not registered`, code);
    case SCRIPT_CODES.ALREADY_PLACED:
      return new TaskAlreadyPlacedError(`task ${subject} already has an owner`, code);
    case SCRIPT_CODES.FENCE_REJECTED:
      return new FenceRejectedError(`directive ${subject} carries an old fence`, code);
    case SCRIPT_CODES.LEASE_LOST:
      return new LeaseLostError(`replica ${subject} lost the leader lease`, code);
    case SCRIPT_CODES.ATTEMPTS_EXHAUSTED:
      return new AttemptsExhaustedError(`task ${subject} used all of its attempts: it is now failed`, code);
    case SCRIPT_CODES.AGENT_NOT_ALIVE:
      return new AgentNotAliveError(`agent ${subject} is not alive (dead, draining or drained)`, code);
    case SCRIPT_CODES.AGENT_INCAPABLE:
      return new AgentIncapableError(`agent ${subject} lacks a capability the task requires`, code);
    default: {
      // An answer is read by its one caller; reaching here means a caller passed it on by mistake.
      const answer = (Object.entries(SCRIPT_CODES) as Array<[string, number]>).find(([, value]) => value === code)?.[0];
      return new StoreError(
        answer ? `script answered ${answer} (${code}) for ${subject}, which is not a refusal` : `script refused ${subject} with unknown code ${code}`,
        code,
      );
    }
  }
}

/** The agent a task was to be given to may not take it (unknown, not alive, or incapable). */
export function isRefusedAgent(error: unknown): boolean {
  return error instanceof AgentUnknownError || error instanceof AgentNotAliveError || error instanceof AgentIncapableError;
}

/** Codes whose subject is an agent (the one a task was to be given to), not the task. */
export function isAgentRefusal(code: unknown): boolean {
  return code === SCRIPT_CODES.AGENT_UNKNOWN || code === SCRIPT_CODES.AGENT_NOT_ALIVE || code === SCRIPT_CODES.AGENT_INCAPABLE;
}

/** Throws the typed error when a script returned a negative code; passes other replies through. */
export function check<T>(reply: T, subject: string): T {
  if (typeof reply === "number" && reply < 0) throw errorForCode(reply, subject);
  return reply;
}
