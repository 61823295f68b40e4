import { z } from "zod";
import { describeZodError } from "./events.js";

/** Longest wait a task option may ask for (a delay, a backoff, a timeout): one week. */
export const MAX_WAIT_MS = 7 * 24 * 3600 * 1000;

/** Longest a task may say it runs: 30 days. The planner weighs tasks by it; an unbounded one would drown every other figure. */
export const MAX_ESTIMATED_DURATION_MS = 30 * 24 * 3600 * 1000;

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
 * A backoff as a task record keeps it: `[type, delayMs, maxDelayMs, jitter]`. As an object
 * (`{"type":"exponential","delayMs":200,...}`, 68 bytes for the default) it was longer than the
 * 64 bytes of Redis's `hash-max-listpack-value`, which made every record holding it a hashtable,
 * about three times the memory of the listpack a record of short fields is.
 */
export function storedBackoffText(backoff: Readonly<Backoff>): string {
  return JSON.stringify([backoff.type, backoff.delayMs, backoff.maxDelayMs, backoff.jitter]);
}

/** A record's backoff text (`storedBackoffText`'s array, or the object records written before it hold), validated. */
export function parseBackoffText(text: string): Backoff {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) return BackoffSchema.parse(value);
  if (value.length !== 4) throw new TypeError(`backoff: expected [type, delayMs, maxDelayMs, jitter], got ${value.length} values`);
  const [type, delayMs, maxDelayMs, jitter] = value as unknown[];
  return BackoffSchema.parse({ type, delayMs, maxDelayMs, jitter });
}

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

/** How often a waiter reads a task's record, ms: at least 10 (a tighter loop only loads Redis). */
const PollMsSchema = z.number().int().min(10).max(60_000).optional();

/** `Client.waitFor`'s options, checked before anything is read. */
export const WaitForOptionsSchema = z.object({
  timeoutMs: z.number().int().min(0).max(MAX_WAIT_MS).optional(),
  pollMs: PollMsSchema,
  unassigned: z.enum(["fail", "wait"]).optional(),
  onProgress: z.custom<(progress: unknown, record: never) => void>((f) => typeof f === "function", "must be a function").optional(),
});

/** `Client.watch`'s options. */
export const WatchOptionsSchema = z.object({ pollMs: PollMsSchema });

/** Throws a TypeError naming `what` and each bad field when `value` does not fit `schema`. */
export function checkInput(schema: z.ZodType, value: unknown, what: string): void {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new TypeError(`invalid ${what}: ${describeZodError(parsed.error)}`);
}
