import type { z } from "zod";
import { LONE_SURROGATE, SAFE_ID } from "./ids.js";
import { type TaskSpec, TaskSpecSchema, MAX_PAYLOAD_BYTES, toJson } from "./task.js";
import { type Backoff, MAX_ESTIMATED_DURATION_MS, MAX_TASK_PRIORITY, MAX_WAIT_MS } from "./task-options.js";

/** TaskSpecSchema's fields, in its order: the order of the parsed object's keys. */
const TASK_FIELDS = new Set(Object.keys(TaskSpecSchema.shape));
const BACKOFF_FIELDS = new Set(["type", "delayMs", "maxDelayMs", "jitter"]);

export type ParsedTaskSpec =
  | {
      success: true;
      data: TaskSpec;
      /** The payload's JSON, made once while checking its size: a submit sends it as it is. */ payloadJson: string;
      error?: undefined;
    }
  | { success: false; error: z.ZodError; data?: undefined };

/** TaskSpecSchema.safeParse: by `commonTaskSpec` when it takes the input, else by the schema; with the payload's JSON. */
export function safeParseTaskSpec(input: unknown): ParsedTaskSpec {
  const common = commonTaskSpecWithJson(input);
  if (common !== undefined) return { success: true, data: common.task, payloadJson: common.payloadJson };
  const parsed = TaskSpecSchema.safeParse(input);
  if (!parsed.success) return parsed;
  // The schema checked the payload's JSON without keeping it: made again, only on this slower path.
  const json = toJson(parsed.data.payload, MAX_PAYLOAD_BYTES);
  if (!json.ok) throw new Error(`a payload the schema took is not serialisable: ${json.reason}`);
  return { success: true, data: parsed.data, payloadJson: json.json };
}

/**
 * A submitted task checked without zod: on a submitting client zod's parse measured some 35 µs a
 * task under load, the largest part of what a submit costs it beyond BullMQ's own `add`. Returns
 * the task (a fresh object, its fields in the schema's order, defaults filled in, as
 * TaskSpecSchema's parse gives it) only when the input is certainly what TaskSpecSchema accepts:
 * a plain object of its fields only, none undefined, each within the schema's bounds. Anything
 * else, valid or not, is left to TaskSpecSchema (undefined), which then gives the verdict and the
 * reason. task-fast-path.test.ts holds this to TaskSpecSchema on arbitrary objects.
 */
export function commonTaskSpec(input: unknown): TaskSpec | undefined {
  return commonTaskSpecWithJson(input)?.task;
}

/** `commonTaskSpec`, with the payload's JSON that checking its size made. */
function commonTaskSpecWithJson(input: unknown): { task: TaskSpec; payloadJson: string } | undefined {
  if (!isPlainObject(input) || !hasOnly(input, TASK_FIELDS)) return undefined;
  const {
    id,
    type = "default",
    payload = null,
    requiredCapabilities = [],
    priority = 0,
    estimatedDurationMs,
    maxAttempts = 3,
    backoff,
    timeoutMs,
    delayMs,
    runAt,
  } = input;
  if (!isId(id) || !isTaskType(type) || !isCapabilities(requiredCapabilities)) return undefined;
  const payloadJson = toJson(payload, MAX_PAYLOAD_BYTES);
  if (!payloadJson.ok) return undefined;
  if (!isInteger(priority, 0, MAX_TASK_PRIORITY) || !isInteger(maxAttempts, 1, 100)) return undefined;
  if (estimatedDurationMs !== undefined && !isNumber(estimatedDurationMs, 0, MAX_ESTIMATED_DURATION_MS)) return undefined;
  const parsedBackoff = backoff === undefined ? undefined : commonBackoff(backoff);
  if (backoff !== undefined && parsedBackoff === undefined) return undefined;
  if (timeoutMs !== undefined && !isInteger(timeoutMs, 1, MAX_WAIT_MS)) return undefined;
  if (delayMs !== undefined && !isInteger(delayMs, 0, MAX_WAIT_MS)) return undefined;
  if (runAt !== undefined && (!isInteger(runAt, 0, Number.MAX_SAFE_INTEGER) || delayMs !== undefined)) return undefined;
  const task: Record<string, unknown> = { id, type, payload, requiredCapabilities: [...(requiredCapabilities as string[])], priority };
  if (estimatedDurationMs !== undefined) task.estimatedDurationMs = estimatedDurationMs;
  task.maxAttempts = maxAttempts;
  if (parsedBackoff !== undefined) task.backoff = parsedBackoff;
  if (timeoutMs !== undefined) task.timeoutMs = timeoutMs;
  if (delayMs !== undefined) task.delayMs = delayMs;
  if (runAt !== undefined) task.runAt = runAt;
  return { task: task as TaskSpec, payloadJson: payloadJson.json };
}

function commonBackoff(input: unknown): Backoff | undefined {
  if (!isPlainObject(input) || !hasOnly(input, BACKOFF_FIELDS)) return undefined;
  const { type, delayMs, maxDelayMs = MAX_WAIT_MS, jitter = 0 } = input;
  if ((type !== "fixed" && type !== "exponential") || !isInteger(delayMs, 0, MAX_WAIT_MS) || !isInteger(maxDelayMs, 0, MAX_WAIT_MS)) return undefined;
  if (!isNumber(jitter, 0, 1)) return undefined;
  return { type, delayMs: delayMs as number, maxDelayMs: maxDelayMs as number, jitter: jitter as number };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Own keys all among `fields`, none holding undefined (the schema keeps such a key where it would leave it out). */
function hasOnly(object: Record<string, unknown>, fields: ReadonlySet<string>): boolean {
  for (const key in object) if (!fields.has(key) || object[key] === undefined) return false;
  return Object.getOwnPropertySymbols(object).length === 0;
}

const isId = (value: unknown) => typeof value === "string" && value.length >= 1 && value.length <= 128 && SAFE_ID.test(value);
const isTaskType = (value: unknown) => typeof value === "string" && value.length >= 1 && value.length <= 64 && !LONE_SURROGATE.test(value);
/** Every index holds one (a hole reads undefined, which the schema refuses; `every` would skip it). */
function isCapabilities(value: unknown): boolean {
  if (!Array.isArray(value) || value.length > 32) return false;
  for (let i = 0; i < value.length; i++) {
    const capability: unknown = value[i];
    if (typeof capability !== "string" || capability.length < 1 || capability.length > 64) return false;
  }
  return true;
}
const isInteger = (value: unknown, min: number, max: number) => Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
const isNumber = (value: unknown, min: number, max: number) => typeof value === "number" && Number.isFinite(value) && value >= min && value <= max;
