import { type AgentView, type Config, type TaskRecord, type TaskSpecInput, isFinished } from "@worksteal/protocol";
import { TaskNotFoundError } from "@worksteal/store";

/** The configuration's task defaults (attempts, backoff, timeout): made once per client, not per submit. */
export function taskDefaultsOf(config: Config): Readonly<Partial<TaskSpecInput>> {
  return Object.freeze({
    maxAttempts: config.taskMaxAttempts,
    backoff: Object.freeze({
      type: config.taskBackoffType,
      delayMs: config.taskBackoffDelayMs,
      maxDelayMs: config.taskBackoffMaxDelayMs,
      jitter: config.taskBackoffJitter,
    }),
    ...(config.taskTimeoutMs > 0 ? { timeoutMs: config.taskTimeoutMs } : {}),
  });
}

/** `defaults` under what the input sets itself (an option set to undefined takes the default too). */
export function withTaskDefaults<T extends TaskSpecInput>(defaults: Readonly<Partial<TaskSpecInput>>, input: T): T {
  const merged: Record<string, unknown> = { ...defaults };
  for (const key of Object.keys(input)) {
    const value = (input as Record<string, unknown>)[key];
    if (value !== undefined) merged[key] = value;
  }
  return merged as T;
}

/**
 * Why a task waits with no agent to run it, or undefined when it does not: it is running, queued
 * on an agent, delayed and not yet due, or a live agent could take it (placement is under way).
 * The agents are read only for a task that waits unassigned.
 */
export async function unassignedReason(record: TaskRecord, agents: () => Promise<AgentView[]> | AgentView[], now = Date.now()): Promise<string | undefined> {
  if (record.state !== "queued" || record.owner !== "" || (record.runAt ?? 0) > now) return undefined;
  const all = await agents();
  const alive = all.filter((a) => a.status === "alive");
  if (all.length === 0) return "no agent is registered";
  if (alive.length === 0) return `no live agent (of ${all.length} registered, none alive and taking tasks)`;
  const needs = record.requiredCapabilities;
  if (alive.some((a) => needs.every((c) => a.capabilities.includes(c)))) return undefined;
  return `no live agent has every required capability (${needs.join(", ")})`;
}

export interface WatchOptions {
  /** How often the record is read, ms (default 100). */
  pollMs?: number;
}

/** What a watcher tells apart: a change of any of these yields the record. */
function changeKey(r: TaskRecord): string {
  return JSON.stringify([r.state, r.owner, r.epoch, r.attempts, r.progressAt, r.cancelRequestedAt, r.error, r.runAt]);
}

/** The record each time it changes, until it has finished (yielded last). */
export async function* watchTask(
  read: (id: string) => Promise<TaskRecord | undefined>,
  taskId: string,
  options: WatchOptions,
): AsyncGenerator<TaskRecord, void> {
  let last: string | undefined;
  for (;;) {
    const record = await read(taskId);
    if (!record) throw new TaskNotFoundError(`task ${taskId} not found`, -1);
    const key = changeKey(record);
    if (key !== last) {
      last = key;
      yield record;
    }
    if (isFinished(record.state)) return;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
}
