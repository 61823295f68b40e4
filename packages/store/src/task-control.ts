import { MAX_PROGRESS_BYTES, toJson } from "@worksteal/protocol";
import { check, SCRIPT_CODES, StaleTaskError } from "./errors.js";
import { scriptRunner } from "./scripts.js";
import type { Store } from "./store.js";

/**
 * `cancelled`: it was queued and is now cancelled (its job, wherever it is, is dropped at claim),
 * or it was cancelled already (so a cancel retried after its answer was lost answers the same).
 * `cancelling`: it runs; its agent aborts the handler's signal and it ends cancelled when the
 * handler returns. `finished`: it had already ended done or failed; nothing changed.
 */
export type CancelOutcome = "cancelled" | "cancelling" | "finished";

/** Reads of the owner before a cancel, at most: each retry follows a move or a placement made meanwhile. */
const CANCEL_TRIES = 10;

/** Cancels a task wherever it is (cancel-5.lua). Throws TaskNotFoundError for an unknown id. */
export async function cancelTask(store: Store, taskId: string, retentionMs: number): Promise<CancelOutcome> {
  const run = scriptRunner(store.redis);
  const k = store.keys;
  for (let tries = 0; tries < CANCEL_TRIES; tries += 1) {
    const owner = (await store.redis.hget(k.task(taskId), "owner")) ?? "";
    const reply = (await run(
      "cancel",
      [k.task(taskId), k.events, owner === "" ? k.unassigned : k.queuedOf(owner), k.unassigned, k.delayed],
      [taskId, owner, retentionMs],
    )) as [string, string] | number;
    if (reply === SCRIPT_CODES.FINISHED) return "finished";
    if (reply === SCRIPT_CODES.STALE) continue;
    return (check(reply, taskId) as [CancelOutcome, string])[0];
  }
  throw new StaleTaskError(`task ${taskId}: its owner kept changing while it was being cancelled`, SCRIPT_CODES.STALE);
}

/**
 * Stores a running task's progress (any JSON up to MAX_PROGRESS_BYTES). Throws TypeError for a
 * value that is not JSON or too large, StaleTaskError / TaskNotRunningError when this run is no
 * longer the task's (moved, reassigned, finished).
 */
export async function reportProgress(store: Store, taskId: string, agentId: string, epoch: number, value: unknown): Promise<void> {
  const json = toJson(value, MAX_PROGRESS_BYTES);
  if (!json.ok) throw new TypeError(`invalid progress: ${json.reason}`);
  check(await scriptRunner(store.redis)("progress", [store.keys.task(taskId)], [agentId, epoch, json.json]), taskId);
}

/** Moves delayed tasks that are due to the unassigned set, at most `max`; returns how many moved. */
export async function promoteDueTasks(store: Store, max: number): Promise<number> {
  return Number(await scriptRunner(store.redis)("promoteDue", [store.keys.delayed, store.keys.unassigned], [max]));
}
