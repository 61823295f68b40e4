import type { WorkstealEvent } from "./events.js";
import { LONE_SURROGATE, SAFE_ID } from "./ids.js";

/**
 * The events most tasks append, checked without zod: `task:completed` (since issue 10 the one
 * event of most tasks, often with its wait), and `task:assigned` and `task:started`, which tasks
 * of earlier versions appended each time. The fold validates each of them, and zod's general
 * parse was most of its cost. Returns the
 * event (a fresh object, its fields in the schema's order, as EventSchema's parse gives them)
 * only when the object is certainly what EventSchema accepts, field for field (exact key set, the
 * same bounds); anything else, valid or not, is left to EventSchema (undefined), which then gives
 * the verdict and the reason. events.test.ts holds this to EventSchema on arbitrary objects.
 */
export function commonEvent(json: Record<string, unknown>): WorkstealEvent | undefined {
  const { kind, taskId, agentId, epoch, at } = json;
  switch (kind) {
    case "task:assigned":
      if (!hasKeys(json, 5) || !isTaskEvent(json)) return undefined;
      return { kind, taskId, agentId, epoch, at } as WorkstealEvent;
    case "task:started": {
      const { attempt, restarted, waitMs } = json;
      const withWait = waitMs !== undefined;
      if (!hasKeys(json, withWait ? 8 : 7) || !isTaskEvent(json) || !isInteger(attempt, 1) || typeof restarted !== "boolean") return undefined;
      if (!withWait) return { kind, taskId, agentId, epoch, attempt, restarted, at } as WorkstealEvent;
      return isInteger(waitMs, 0) ? ({ kind, taskId, agentId, epoch, attempt, restarted, waitMs, at } as WorkstealEvent) : undefined;
    }
    case "task:completed": {
      const { taskType, durationMs, waitMs } = json;
      const withWait = waitMs !== undefined;
      if (!hasKeys(json, withWait ? 8 : 7) || !isTaskEvent(json) || !isTaskType(taskType) || !isDuration(durationMs)) return undefined;
      if (!withWait) return { kind, taskId, agentId, taskType, epoch, durationMs, at } as WorkstealEvent;
      return isInteger(waitMs, 0) ? ({ kind, taskId, agentId, taskType, epoch, durationMs, waitMs, at } as WorkstealEvent) : undefined;
    }
    default:
      return undefined;
  }
}

const MAX_DURATION_MS = 7 * 24 * 3600 * 1000;

/** Exactly `count` own keys: with every field checked present, no unknown one (the schemas are strict). */
const hasKeys = (json: Record<string, unknown>, count: number) => Object.keys(json).length === count;

function isTaskEvent(json: Record<string, unknown>): boolean {
  return isId(json.taskId, 128) && isId(json.agentId, 64) && isInteger(json.epoch, 0) && isInteger(json.at, 0);
}

const isId = (value: unknown, maxLength: number) => typeof value === "string" && value.length >= 1 && value.length <= maxLength && SAFE_ID.test(value);
const isInteger = (value: unknown, min: number) => Number.isSafeInteger(value) && (value as number) >= min;
const isTaskType = (value: unknown) => typeof value === "string" && value.length >= 1 && value.length <= 64 && !LONE_SURROGATE.test(value);
const isDuration = (value: unknown) => typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= MAX_DURATION_MS;
