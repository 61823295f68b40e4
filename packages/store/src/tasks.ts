import { parseRecord, type TaskRecord, TaskRecordSchema } from "@worksteal/protocol";
import { replyValues } from "./replies.js";
import type { Store } from "./store.js";

/** What the coordinator decides by, of a task record: who owns it, at which epoch, in which state, and what it needs. */
export interface TaskFields {
  owner: string;
  state: string;
  epoch: number;
  requiredCapabilities: string[];
  type: string;
  estimatedDurationMs?: number;
  maxAttempts: number;
  attempts: number;
  /** Redis clock, ms: the last change of the record. */
  updatedAt: number;
}

/** The one field list of `TaskFields`, in HMGET order. */
const FIELDS = ["owner", "state", "epoch", "requiredCapabilities", "type", "estimatedDurationMs", "maxAttempts", "attempts", "updatedAt"] as const;

/** `TaskFields` of each task (undefined for one that does not exist), in one round trip; same order as `ids`. */
export async function readTaskFields(store: Store, ids: readonly string[]): Promise<Array<TaskFields | undefined>> {
  if (ids.length === 0) return [];
  const pipeline = store.redis.pipeline();
  for (const id of ids) pipeline.hmget(store.keys.task(id), ...FIELDS);
  return replyValues(await pipeline.exec(), "task records").map((value) => {
    const [owner, state, epoch, caps, type, estimate, maxAttempts, attempts, updatedAt] = value as Array<string | null>;
    if (owner === null || owner === undefined) return undefined;
    return {
      owner,
      state: state ?? "",
      epoch: Number(epoch),
      requiredCapabilities: JSON.parse(caps ?? "[]") as string[],
      type: type ?? "default",
      ...(estimate ? { estimatedDurationMs: Number(estimate) } : {}),
      maxAttempts: Number(maxAttempts ?? 1),
      attempts: Number(attempts ?? 0),
      updatedAt: Number(updatedAt ?? 0),
    };
  });
}

/** A task's whole record, validated: undefined when there is no such task, or why it cannot be read. */
export async function readTaskRecord(store: Store, taskId: string): Promise<{ ok: true; value: TaskRecord } | { ok: false; reason: string } | undefined> {
  const hash = await store.redis.hgetall(store.keys.task(taskId));
  if (Object.keys(hash).length === 0) return undefined;
  return parseRecord(TaskRecordSchema, hash);
}

/** Ids of tasks waiting unassigned, oldest first: `count` of them from `offset`. */
export function readUnassignedPage(store: Store, offset: number, count: number): Promise<string[]> {
  return store.redis.zrange(store.keys.unassigned, offset, String(offset + count - 1));
}

/** Drops a task id from the unassigned set (its record is gone). */
export async function forgetUnassigned(store: Store, taskId: string): Promise<void> {
  await store.redis.zrem(store.keys.unassigned, taskId);
}
