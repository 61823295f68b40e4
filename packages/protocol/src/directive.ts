import { z } from "zod";
import { AgentIdSchema, TaskIdSchema } from "./ids.js";

/** Most tasks one directive may name: config's maxStealBatch bound. */
export const MAX_DIRECTIVE_TASKS = 1000;

/**
 * A steal planned by the leader; executed by any replica as a job on the directive queue. With
 * `taskIds` the executor moves exactly those of them still queued on the source (the planner
 * chose them one by one); without, the newest queued tasks the target can run (directives of a
 * leader from before task ids, during a rolling upgrade).
 */
export const DirectiveSchema = z
  .strictObject({
    id: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9_.-]+$/),
    /** The planner's fence at planning time; the move script rejects any other. */
    fence: z.number().int().nonnegative(),
    source: AgentIdSchema,
    target: AgentIdSchema,
    /** Bounded even without taskIds: the executor moves tasks one by one, within one job's lock. */
    count: z.number().int().min(1).max(MAX_DIRECTIVE_TASKS),
    /** The tasks to move, as many as `count`, each once. */
    taskIds: z.array(TaskIdSchema).min(1).max(MAX_DIRECTIVE_TASKS).optional(),
    reason: z.string().max(500),
    createdAt: z.number().int().nonnegative(),
  })
  .refine((d) => d.taskIds === undefined || (d.taskIds.length === d.count && new Set(d.taskIds).size === d.count), {
    message: "taskIds must name count distinct tasks",
    path: ["taskIds"],
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
