import { performance } from "node:perf_hooks";
import { foldCaughtUp, type FoldProgress, readFoldProgress } from "@worksteal/store";
import type { Replica } from "./replica.js";

/**
 * The fold loop reads at least every block plus coalescing pause of its timing (foldTimingOf: at
 * most 600 ms); one that has not returned for this long is stuck.
 */
const FOLD_STALLED_MS = 10_000;
/** Caught up: fewer events than this many batches wait to be folded. */
const CAUGHT_UP_BATCHES = 5;

export type Readiness = { ready: true; lag: number } | { ready: false; reason: string; lag?: number };

/** What readiness is judged from, once connected: the replica's own state, and the fold's progress read from Redis. */
export interface ReadinessInputs {
  foldLoop: { lastReadAt: number | undefined };
  /** Monotonic clock, ms, as `lastReadAt`. */
  now: number;
  batchSize: number;
  progress: FoldProgress;
}

/**
 * Readiness of a replica whose fold loop runs and whose Redis connection is up (the caller
 * checked both): ready when the loop's reads return (it folds, or waits for the fold lease while
 * another folds) and the namespace is caught up, the events not yet folded numbering fewer than a
 * few batches.
 */
export function judgeReadiness({ foldLoop, now, batchSize, progress }: ReadinessInputs): Readiness {
  if (foldLoop.lastReadAt === undefined) return { ready: false, reason: "no fold read has returned yet" };
  if (now - foldLoop.lastReadAt > FOLD_STALLED_MS) return { ready: false, reason: `no fold read has returned for ${Math.round(now - foldLoop.lastReadAt)} ms` };
  const bound = CAUGHT_UP_BATCHES * batchSize;
  const { lag } = progress;
  // The cursor at the newest entry is caught up whatever the lag says: entries deleted (XDEL) or
  // trimmed by hand before they were folded are never counted folded, and the lag keeps them.
  if (lag >= bound && !foldCaughtUp(progress)) return { ready: false, reason: `catching up: ${lag} events to fold (ready below ${bound})`, lag };
  return { ready: true, lag };
}

/** The replica's readiness now, at the cost of one Redis call; never throws. */
export async function readiness(replica: Replica): Promise<Readiness> {
  const foldLoop = replica.foldLoopStatus;
  if (!foldLoop.running) return { ready: false, reason: "the fold loop is not running" };
  if (!replica.redisReady) return { ready: false, reason: "not connected to Redis" };
  let progress: FoldProgress;
  try {
    progress = await readFoldProgress(replica.store);
  } catch (error) {
    return { ready: false, reason: `cannot read the fold's progress: ${(error as Error).message}` };
  }
  return judgeReadiness({ foldLoop, now: performance.now(), batchSize: replica.config.foldBatchSize, progress });
}
