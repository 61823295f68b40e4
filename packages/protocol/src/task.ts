import { z } from "zod";
import { AgentIdSchema, CapabilitySchema, TaskIdSchema } from "./ids.js";

export const MAX_PAYLOAD_BYTES = 64 * 1024;

export const TaskSpecSchema = z.object({
  id: TaskIdSchema,
  type: z.string().min(1).max(64).default("default"),
  payload: z
    .unknown()
    .default(null)
    .refine((p) => JSON.stringify(p ?? null).length <= MAX_PAYLOAD_BYTES, {
      message: `payload must serialise to at most ${MAX_PAYLOAD_BYTES} bytes of JSON`,
    }),
  requiredCapabilities: z.array(CapabilitySchema).max(32).default([]),
  priority: z.number().int().min(0).max(1000).default(0),
  estimatedDurationMs: z.number().nonnegative().finite().optional(),
  /** Attempts before the task ends `failed` (BullMQ `attempts`). */
  maxAttempts: z.number().int().min(1).max(100).default(1),
});

export type TaskSpecInput = z.input<typeof TaskSpecSchema>;
export type TaskSpec = z.output<typeof TaskSpecSchema>;

export const TASK_STATES = ["queued", "running", "done", "failed"] as const;
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
  result: z.string().optional(),
  error: z.string().optional(),
});

export type TaskRecord = z.output<typeof TaskRecordSchema>;

export function isFinished(state: TaskState): boolean {
  return state === "done" || state === "failed";
}
