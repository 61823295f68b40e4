import { z } from "zod";
import { AgentIdSchema, TaskIdSchema } from "./ids.js";

/** A steal planned by the leader; executed by any replica as a job on the directive queue. */
export const DirectiveSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_.-]+$/),
  /** The planner's fence at planning time; the move script rejects any other. */
  fence: z.number().int().nonnegative(),
  source: AgentIdSchema,
  target: AgentIdSchema,
  count: z.number().int().min(1),
  reason: z.string().max(500),
  createdAt: z.number().int().nonnegative(),
});
export type Directive = z.infer<typeof DirectiveSchema>;
/** What a planner produces; the leader stamps fence and time when it queues it. */
export type PlannedDirective = Omit<Directive, "fence" | "createdAt">;

export const STEAL_STATUSES = ["completed", "partial", "rejected", "failed"] as const;
export type StealStatus = (typeof STEAL_STATUSES)[number];

export const StealOperationSchema = z.object({
  directiveId: z.string(),
  fence: z.coerce.number().int(),
  source: AgentIdSchema,
  target: AgentIdSchema,
  requested: z.coerce.number().int(),
  taskIds: z.string().transform((s) => z.array(TaskIdSchema).parse(JSON.parse(s))),
  status: z.enum(STEAL_STATUSES),
  reason: z.string(),
  detail: z.string().default(""),
  startedAt: z.coerce.number(),
  finishedAt: z.coerce.number(),
});
export type StealOperation = z.output<typeof StealOperationSchema>;
