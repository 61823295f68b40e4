/**
 * A real run as Redis recorded it, read before its namespace goes: compare-balance-real replays it
 * in the simulator, bench:steal breaks its makespan down (slot-breakdown.ts).
 */
import type { Redis } from "ioredis";
import { DirectiveSchema, keysFor, parseRecord, StealOperationSchema } from "@worksteal/protocol";
import { openDirectiveQueue, Store } from "@worksteal/store";
import type { RecordedSteal, RecordedTask } from "../../packages/planner/src/simulator/calibrate.js";

/**
 * The run as Redis recorded it: every task's creation, start, finish and agent, and every
 * directive's moves with when it was planned (its job on the directive queue) and when its tasks
 * were queued on the target (the executor's record). A task moved away was placed on the source of
 * its first steal, and reached its agent when its last steal ended.
 */
export async function readRecordedRun(redis: Redis, namespace: string, ids: readonly string[]): Promise<{ tasks: RecordedTask[]; steals: RecordedSteal[] }> {
  const keys = keysFor(namespace);
  const directiveIds = await redis.zrange(keys.steals, "0", "-1");
  const stealReads = redis.pipeline();
  for (const id of directiveIds) stealReads.hgetall(keys.steal(id));
  const directiveQueue = openDirectiveQueue(new Store(redis, namespace));
  const plannedAt = new Map<string, number>();
  try {
    for (const id of directiveIds) {
      const directive = DirectiveSchema.safeParse((await directiveQueue.getJob(id))?.data);
      if (!directive.success) throw new Error(`directive ${id} is not on the directive queue as it was planned`);
      plannedAt.set(id, directive.data.createdAt);
    }
  } finally {
    await directiveQueue.close();
  }
  const steals: RecordedSteal[] = ((await stealReads.exec()) ?? []).flatMap(([error, hash], i) => {
    if (error) throw error;
    const parsed = parseRecord(StealOperationSchema, hash as Record<string, string>);
    if (!parsed.ok) throw new Error(`steal record ${directiveIds[i]}: ${parsed.reason}`);
    const { directiveId, source, target, taskIds, finishedAt } = parsed.value;
    // Directive ids are f<fence>-r<round>-<n> (directive-planner.ts): the round is all but the last part.
    const round = directiveId.slice(0, directiveId.lastIndexOf("-"));
    return taskIds.length > 0 ? [{ round, plannedAt: plannedAt.get(directiveId)!, source, target, taskIds, finishedAt }] : [];
  });
  steals.sort((a, b) => a.finishedAt - b.finishedAt);
  const stealsOf = new Map<string, RecordedSteal[]>();
  for (const steal of steals) for (const id of steal.taskIds) stealsOf.set(id, [...(stealsOf.get(id) ?? []), steal]);
  const taskReads = redis.pipeline();
  for (const id of ids) taskReads.hmget(keys.task(id), "owner", "createdAt", "startedAt", "finishedAt");
  const recorded = ((await taskReads.exec()) ?? []).map(([error, values], i): RecordedTask => {
    if (error) throw error;
    const [owner, createdAt, startedAt, finishedAt] = (values as Array<string | null>).map((v) => v ?? "");
    const id = ids[i]!;
    const moves = stealsOf.get(id) ?? [];
    return {
      id,
      placedOn: moves[0]?.source ?? owner!,
      agent: owner!,
      createdAt: Number(createdAt),
      readyAt: moves.at(-1)?.finishedAt ?? Number(createdAt),
      startedAt: Number(startedAt),
      finishedAt: Number(finishedAt),
    };
  });
  return { tasks: recorded, steals };
}
