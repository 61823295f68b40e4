import { parseRecord, type StealOperation, StealOperationSchema, type StealStatus } from "@worksteal/protocol";
import { replyValues } from "./replies.js";
import type { Store } from "./store.js";

export interface StealRead {
  /** Newest first (by finish time, the sorted set's score). */
  steals: StealOperation[];
  /** Directive ids listed in the sorted set whose hash is gone or unreadable, with the reason. */
  skipped: Array<{ directiveId: string; reason: string }>;
}

/** The newest `limit` steal operations, newest first (by finish time). */
export async function readSteals(store: Store, limit: number): Promise<StealRead> {
  const ids = await store.redis.zrevrange(store.keys.steals, 0, limit - 1);
  if (ids.length === 0) return { steals: [], skipped: [] };
  const pipeline = store.redis.pipeline();
  for (const id of ids) pipeline.hgetall(store.keys.steal(id));
  const replies = (await pipeline.exec()) ?? [];
  const result: StealRead = { steals: [], skipped: [] };
  ids.forEach((directiveId, i) => {
    const [error, value] = replies[i] ?? [new Error("no reply"), null];
    if (error) throw error;
    const hash = value as Record<string, string>;
    if (Object.keys(hash).length === 0) {
      result.skipped.push({ directiveId, reason: "record expired or missing" });
      return;
    }
    const parsed = parseRecord(StealOperationSchema, hash);
    if (parsed.ok) result.steals.push(parsed.value);
    else result.skipped.push({ directiveId, reason: parsed.reason });
  });
  return result;
}

/** How many steal operations are recorded (within their retention). */
export function countSteals(store: Store): Promise<number> {
  return store.redis.zcard(store.keys.steals);
}

/** The status a directive's steal operation was recorded with; undefined until it is recorded. */
export async function readStealStatus(store: Store, directiveId: string): Promise<StealStatus | undefined> {
  return ((await store.redis.hget(store.keys.steal(directiveId), "status")) ?? undefined) as StealStatus | undefined;
}

/** The fence of the current leadership (0 before any): the only one whose directives the move script lets act. */
export async function readCurrentFence(store: Store): Promise<number> {
  return Number((await store.redis.get(store.keys.fence)) ?? 0);
}

/** The moves the move script logged for a directive: each task with the epoch it was moved to. */
export async function readMoveLog(store: Store, directiveId: string): Promise<Array<{ taskId: string; epoch: number }>> {
  return Object.entries(await store.redis.hgetall(store.keys.stealMoves(directiveId))).map(([taskId, epoch]) => ({ taskId, epoch: Number(epoch) }));
}

/**
 * Records a directive's outcome as a steal operation, read back by `readSteals` (the same
 * fields as StealOperationSchema): the hash expires after `retentionMs`, and the sorted set
 * lists it by finish time until maintenance forgets it (`forgetStealsBefore`).
 */
export async function recordSteal(store: Store, operation: StealOperation, retentionMs: number): Promise<void> {
  const k = store.keys;
  // A failed write fails the directive's job: BullMQ retries it, and the move log makes that idempotent.
  replyValues(
    await store.redis
      .multi()
      .hset(k.steal(operation.directiveId), { ...operation, taskIds: JSON.stringify(operation.taskIds) })
      .pexpire(k.steal(operation.directiveId), retentionMs)
      .zadd(k.steals, operation.finishedAt, operation.directiveId)
      .exec(),
    "steal record",
  );
}

/** Drops from the list of steal operations those that finished before `cutoff` (Redis clock, ms). */
export async function forgetStealsBefore(store: Store, cutoff: number): Promise<void> {
  await store.redis.zremrangebyscore(store.keys.steals, "-inf", cutoff);
}
