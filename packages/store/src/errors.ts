/**
 * Scripts return negative integers for refusals; `errorForCode` is the one place that turns
 * them into typed errors.
 */
export class StoreError extends Error {
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
    default:
      return new StoreError(`script refused ${subject} with unknown code ${code}`, code);
  }
}

/** Throws the typed error when a script returned a negative code; passes other replies through. */
export function check<T>(reply: T, subject: string): T {
  if (typeof reply === "number" && reply < 0) throw errorForCode(reply, subject);
  return reply;
}
