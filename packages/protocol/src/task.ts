import { z } from "zod";
import { CapabilitySchema, TaskIdSchema, TaskTypeSchema, AgentIdSchema } from "./ids.js";
import { BackoffSchema, MAX_ESTIMATED_DURATION_MS, MAX_TASK_PRIORITY, MAX_WAIT_MS, parseBackoffText } from "./task-options.js";

/** Limits in bytes of UTF-8 JSON: records stay small, and a Lua script never copies megabytes. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_RESULT_BYTES = 64 * 1024;
/** A run's error message is cut to this many bytes (it is a message, not data). */
export const MAX_ERROR_BYTES = 4 * 1024;

export type JsonOutcome = { ok: true; json: string } | { ok: false; reason: string };

/**
 * JSON of a payload or a result, or why it has none: BigInt, circular structures, functions
 * and symbols cannot be serialised, and the JSON must fit in `maxBytes`.
 */
export function toJson(value: unknown, maxBytes: number): JsonOutcome {
  // Nothing, or a primitive (what most handlers return): no replacer to call, nothing to refuse.
  const kind = typeof value;
  if (value === undefined || value === null || kind === "string" || kind === "number" || kind === "boolean") {
    return withinLimit(JSON.stringify(value ?? null), maxBytes);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === "function" || typeof v === "symbol") throw new TypeError(`a ${typeof v} cannot be serialised`);
      return v;
    });
  } catch (error) {
    // Whatever was thrown (a toJSON may throw anything): its first line, when it has one.
    const detail = error instanceof Error ? error.message.split("\n")[0] : typeof error === "string" ? error : "a value threw while serialised";
    return { ok: false, reason: `not serialisable as JSON (${detail})` };
  }
  if (json === undefined) return { ok: false, reason: "not serialisable as JSON" };
  return withinLimit(json, maxBytes);
}

function withinLimit(json: string, maxBytes: number): JsonOutcome {
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) return { ok: false, reason: `serialises to ${bytes} bytes of JSON, over the ${maxBytes} limit` };
  return { ok: true, json };
}

/** Cuts a UTF-8 string to at most `maxBytes` bytes without splitting a character. */
export function truncateBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let cut = Buffer.from(text)
    .subarray(0, maxBytes - 3)
    .toString("utf8");
  if (cut.endsWith("\uFFFD")) cut = cut.slice(0, -1);
  return `${cut}...`;
}

const TaskSpecFields = z.object({
  id: TaskIdSchema,
  type: TaskTypeSchema.default("default"),
  payload: z
    .unknown()
    .default(null)
    .superRefine((p, ctx) => {
      const json = toJson(p, MAX_PAYLOAD_BYTES);
      if (!json.ok) ctx.addIssue({ code: "custom", message: json.reason });
    }),
  requiredCapabilities: z.array(CapabilitySchema).max(32).default([]),
  /** Higher runs first, on its agent and when waiting tasks are placed. */
  priority: z.number().int().min(0).max(MAX_TASK_PRIORITY).default(0),
  estimatedDurationMs: z
    .number()
    .nonnegative()
    .max(MAX_ESTIMATED_DURATION_MS, { message: `estimatedDurationMs must be at most ${MAX_ESTIMATED_DURATION_MS} ms (30 days)` })
    .optional(),
  /**
   * Runs before the task ends `failed`. Every run counts wherever it happens: one whose handler
   * threw, and one that never finished because its agent died. The default of 3 lets a task
   * survive two agent crashes; set 1 for at-most-once.
   */
  maxAttempts: z.number().int().min(1).max(100).default(3),
  /** The wait before each retry; none retries at once. */
  backoff: BackoffSchema.optional(),
  /** An attempt running longer fails with a timeout error (its handler's signal is aborted). */
  timeoutMs: z.number().int().min(1).max(MAX_WAIT_MS).optional(),
  /** Not run before this many ms from submission (on the Redis clock)... */
  delayMs: z.number().int().min(0).max(MAX_WAIT_MS).optional(),
  /** ...or before this time (ms since the epoch). At most one of the two. */
  runAt: z.number().int().min(0).optional(),
});

/** A task as submitted: its fields, checked together. */
export const TaskSpecSchema = TaskSpecFields.refine((t) => t.delayMs === undefined || t.runAt === undefined, {
  message: "set delayMs or runAt, not both",
  path: ["runAt"],
});

export type TaskSpecInput = z.input<typeof TaskSpecSchema>;
export type TaskSpec = z.output<typeof TaskSpecSchema>;

export const TASK_STATES = ["queued", "running", "done", "failed", "cancelled"] as const;
export const TaskStateSchema = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskStateSchema>;

/** A task's record as stored in its hash (every value a string) and parsed back. */
export const TaskRecordSchema = z.object({
  id: TaskIdSchema,
  type: z.string(),
  payload: z.string().transform((s) => JSON.parse(s) as unknown),
  requiredCapabilities: z.string().transform((s) => z.array(z.string()).parse(JSON.parse(s))),
  priority: z.coerce.number().int(),
  estimatedDurationMs: z.coerce.number().optional(),
  maxAttempts: z.coerce.number().int(),
  /** Empty while the task waits for a capable agent. */
  owner: z.union([AgentIdSchema, z.literal("")]),
  state: TaskStateSchema,
  epoch: z.coerce.number().int(),
  attempts: z.coerce.number().int().default(0),
  createdAt: z.coerce.number(),
  updatedAt: z.coerce.number(),
  startedAt: z.coerce.number().optional(),
  finishedAt: z.coerce.number().optional(),
  /** The result as the handler returned it (stored as JSON). */
  result: z
    .string()
    .transform((s) => JSON.parse(s) as unknown)
    .optional(),
  /** The last attempt's error: the reason a failed task failed, or why a retry comes. */
  error: z.string().optional(),
  backoff: z
    .string()
    .transform((s) => parseBackoffText(s))
    .optional(),
  timeoutMs: z.coerce.number().int().optional(),
  /** When the task may run next: its delay, or its next attempt's backoff (Redis clock, ms). */
  runAt: z.coerce.number().optional(),
  /** When a cancel was asked for while it ran: it ends `cancelled` when its handler returns. */
  cancelRequestedAt: z.coerce.number().optional(),
  /** The handler's last `progress` value, and when it was reported. */
  progress: z
    .string()
    .transform((s) => JSON.parse(s) as unknown)
    .optional(),
  progressAt: z.coerce.number().optional(),
});

export type TaskRecord = z.output<typeof TaskRecordSchema>;

export function isFinished(state: TaskState): boolean {
  return state === "done" || state === "failed" || state === "cancelled";
}
