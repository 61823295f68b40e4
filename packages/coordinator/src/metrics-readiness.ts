import { performance } from "node:perf_hooks";
import { type FoldProgress, readFoldProgress } from "@worksteal/store";
import type { Replica } from "./replica.js";

/**
 * The fold loop reads at least every FOLD_BLOCK_MS plus its coalescing pause (well under a
 * second); one that has not returned for this long is stuck.
 */
const FOLD_STALLED_MS = 10_000;
/** Caught up: fewer events than this many batches wait to be folded, across the whole group. */
const CAUGHT_UP_BATCHES = 5;

export type Readiness = { ready: true; lag: number | null } | { ready: false; reason: string; lag?: number | null };

/** What readiness is judged from, once connected: the replica's own state, and the group's progress read from Redis. */
export interface ReadinessInputs {
  foldLoop: { running: boolean; lastReadAt: number | undefined; lastReadCount: number };
  /** Monotonic clock, ms, as `lastReadAt`. */
  now: number;
  batchSize: number;
  progress: FoldProgress;
}

/**
 * Ready (the caller has checked the connection to Redis) when folding (the fold loop runs and its reads return), and caught
 * up: the events neither folded nor acknowledged number fewer than a few batches. When Redis
 * cannot tell how many were never delivered, the loop's last read decides: a short batch means
 * it found the end of the stream.
 */
export function judgeReadiness({ foldLoop, now, batchSize, progress }: ReadinessInputs): Readiness {
  if (!foldLoop.running) return { ready: false, reason: "the fold loop is not running" };
  if (foldLoop.lastReadAt === undefined) return { ready: false, reason: "no fold read has returned yet" };
  if (now - foldLoop.lastReadAt > FOLD_STALLED_MS) return { ready: false, reason: `no fold read has returned for ${Math.round(now - foldLoop.lastReadAt)} ms` };
  const bound = CAUGHT_UP_BATCHES * batchSize;
  if (progress.undelivered === undefined) {
    if (foldLoop.lastReadCount >= batchSize) return { ready: false, reason: "catching up: the last fold read returned a full batch", lag: null };
    return { ready: true, lag: null };
  }
  const lag = progress.pending + progress.undelivered;
  if (lag >= bound) return { ready: false, reason: `catching up: ${lag} events to fold (ready below ${bound})`, lag };
  return { ready: true, lag };
}

/** The replica's readiness now, at the cost of one Redis call. */
export async function readiness(replica: Replica): Promise<Readiness> {
  if (!replica.redisReady) return { ready: false, reason: "not connected to Redis" };
  const progress = await readFoldProgress(replica.store);
  return judgeReadiness({ foldLoop: replica.foldLoopStatus, now: performance.now(), batchSize: replica.config.foldBatchSize, progress });
}
