import { z } from "zod";

/** Longest wait a task option may ask for (a delay, a backoff, a timeout): one week. */
export const MAX_WAIT_MS = 7 * 24 * 3600 * 1000;

/**
 * Task priorities run 0 (lowest, the default) to 1000 (highest). BullMQ runs 1 first and takes up
 * to 2^21 - 1 (0 there means "no priority", which would jump every prioritized job), so each
 * priority maps to `1001 - priority`: 1 for 1000, 1001 for 0, in reverse order.
 */
export const MAX_TASK_PRIORITY = 1000;
export function bullPriorityOf(priority: number): number {
  return MAX_TASK_PRIORITY + 1 - priority;
}

/**
 * How long a task waits before its next attempt: `fixed` waits `delayMs` every time,
 * `exponential` waits `delayMs * 2^(attempt - 1)`, both at most `maxDelayMs`. `jitter` (0 to 1)
 * takes up to that share off at random, so that tasks failing together do not retry together.
 */
export const BackoffSchema = z.strictObject({
  type: z.enum(["fixed", "exponential"]),
  delayMs: z.number().int().min(0).max(MAX_WAIT_MS),
  maxDelayMs: z.number().int().min(0).max(MAX_WAIT_MS).default(MAX_WAIT_MS),
  jitter: z.number().min(0).max(1).default(0),
});
export type Backoff = z.output<typeof BackoffSchema>;
export type BackoffInput = z.input<typeof BackoffSchema>;

/**
 * The wait before attempt `failedAttempt + 1`, in ms. `random` is a number in [0, 1): the caller
 * draws it, so that this stays pure and testable.
 */
export function backoffDelayMs(backoff: Backoff, failedAttempt: number, random: number): number {
  const base = backoff.type === "fixed" ? backoff.delayMs : backoff.delayMs * 2 ** Math.max(0, failedAttempt - 1);
  const capped = Math.min(base, backoff.maxDelayMs);
  return Math.round(capped * (1 - backoff.jitter * random));
}

/** What `progress` may store: any JSON up to this many bytes. */
export const MAX_PROGRESS_BYTES = 4 * 1024;
