import { parseRecord, type TaskRecord, TaskRecordSchema } from "@worksteal/protocol";
import type { Store } from "./store.js";

/** What the coordinator decides by, of a task record: who owns it, at which epoch, in which state, and what it needs. */
export interface TaskFields {
  owner: string;
  state: string;
  epoch: number;
  requiredCapabilities: string[];
  type: string;
  estimatedDurationMs?: number;
  /** 0–1000, a larger one runs first. */
  priority: number;
  maxAttempts: number;
  attempts: number;
  /** Redis clock, ms: the last change of the record. */
  updatedAt: number;
}

/** The one field list of `TaskFields`, in HMGET order. */
const FIELDS = ["owner", "state", "epoch", "requiredCapabilities", "type", "estimatedDurationMs", "priority", "maxAttempts", "attempts", "updatedAt"] as const;

/**
 * `TaskFields` of each task, in one round trip; same order as `ids`. Undefined for a task that
 * does not exist and for one whose record cannot be read (not a hash, capabilities not JSON: only
 * a hand edit makes one): every caller skips it, so one bad record never stops a whole pass.
 */
export async function readTaskFields(store: Store, ids: readonly string[]): Promise<Array<TaskFields | undefined>> {
  if (ids.length === 0) return [];
  const pipeline = store.redis.pipeline();
  for (const id of ids) pipeline.hmget(store.keys.task(id), ...FIELDS);
  const replies = await pipeline.exec();
  if (replies === null) throw new Error("the pipeline reading task records was aborted");
  return replies.map(([error, value]) => (error ? undefined : toTaskFields(value as Array<string | null>)));
}

function toTaskFields([owner, state, epoch, caps, type, estimate, priority, maxAttempts, attempts, updatedAt]: Array<string | null>): TaskFields | undefined {
  if (owner === null || owner === undefined) return undefined;
  const requiredCapabilities = parseCapabilities(caps ?? "[]");
  if (!requiredCapabilities) return undefined;
  return {
    owner,
    state: state ?? "",
    epoch: Number(epoch),
    requiredCapabilities,
    type: type ?? "default",
    ...(estimate ? { estimatedDurationMs: Number(estimate) } : {}),
    priority: Number(priority ?? 0),
    maxAttempts: Number(maxAttempts ?? 1),
    attempts: Number(attempts ?? 0),
    updatedAt: Number(updatedAt ?? 0),
  };
}

function parseCapabilities(json: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) && value.every((c) => typeof c === "string") ? value : undefined;
  } catch {
    return undefined;
  }
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

/** Which of `taskIds` have had a cancel requested while they run (one round trip). */
export async function readCancelRequests(store: Store, taskIds: readonly string[]): Promise<Set<string>> {
  if (taskIds.length === 0) return new Set();
  const pipeline = store.redis.pipeline();
  for (const id of taskIds) pipeline.hget(store.keys.task(id), "cancelRequestedAt");
  const replies = (await pipeline.exec()) ?? [];
  return new Set(taskIds.filter((_, i) => !replies[i]?.[0] && replies[i]?.[1] !== null && replies[i]?.[1] !== undefined));
}
