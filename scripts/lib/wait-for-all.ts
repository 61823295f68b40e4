/**
 * Waiting for a batch of tasks to finish, and what became of it: the demo and bench:steal end
 * their runs here.
 */
import type { Redis } from "ioredis";
import { keysFor } from "@worksteal/protocol";

export interface Outcome {
  submitted: number;
  done: number;
  failed: number;
  /** Not finished when the run ended. */
  lost: number;
  /** From the first task's creation to the last finish (Redis clock). */
  makespanMs: number;
  lastFinishedAt: number;
  /** Tasks whose handler ran more than once (none fail in the demo, so none should). */
  runTwice: number;
  /** Tasks that ended on another agent than their first. */
  moved: number;
}

interface TaskState {
  state: string;
  createdAt: number;
  finishedAt: number;
  /** Moves the task went through (its epoch minus the first). */
  moves: number;
}

/** Reads the state of every task, in pipelined batches. */
async function taskStates(redis: Redis, namespace: string, ids: string[]): Promise<Map<string, TaskState>> {
  const keys = keysFor(namespace);
  const states = new Map<string, TaskState>();
  for (let i = 0; i < ids.length; i += 1000) {
    const batch = ids.slice(i, i + 1000);
    const pipeline = redis.pipeline();
    for (const id of batch) pipeline.hmget(keys.task(id), "state", "createdAt", "finishedAt", "epoch");
    const replies = (await pipeline.exec()) ?? [];
    batch.forEach((id, j) => {
      const [state, createdAt, finishedAt, epoch] = (replies[j]?.[1] ?? []) as Array<string | null>;
      states.set(id, {
        state: state ?? "missing",
        createdAt: Number(createdAt ?? 0),
        finishedAt: Number(finishedAt ?? 0),
        moves: Math.max(0, Number(epoch ?? 1) - 1),
      });
    });
  }
  return states;
}

/** Waits until every task is done or failed, or the deadline passes; calls `onTick` between polls. */
export async function waitForAll(
  redis: Redis,
  namespace: string,
  ids: string[],
  deadlineMs: number,
  onTick: (finished: number) => Promise<void> | void,
): Promise<Outcome> {
  let pending = ids;
  const deadline = Date.now() + deadlineMs;
  while (pending.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const states = await taskStates(redis, namespace, pending);
    pending = pending.filter((id) => {
      const s = states.get(id)?.state;
      return s !== "done" && s !== "failed";
    });
    await onTick(ids.length - pending.length);
  }
  const states = await taskStates(redis, namespace, ids);
  let done = 0;
  let failed = 0;
  let moved = 0;
  let first = Infinity;
  let last = 0;
  for (const s of states.values()) {
    if (s.state === "done") done++;
    if (s.state === "failed") failed++;
    if (s.moves > 0) moved++;
    first = Math.min(first, s.createdAt);
    last = Math.max(last, s.finishedAt);
  }
  return {
    submitted: ids.length,
    done,
    failed,
    lost: ids.length - done - failed,
    makespanMs: last > first ? last - first : 0,
    lastFinishedAt: last,
    runTwice: await tasksRunTwice(redis, namespace),
    moved,
  };
}

/** Tasks whose handler ran more than once, as the agents counted their runs (agent-process.ts's run log). */
export async function tasksRunTwice(redis: Redis, namespace: string): Promise<number> {
  const runs = await redis.hvals(keysFor(namespace).runLog);
  return runs.filter((r) => Number(r) > 1).length;
}
