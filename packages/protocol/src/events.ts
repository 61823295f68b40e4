import { z } from "zod";
import { commonEvent } from "./event-fast-path.js";
import { AgentIdSchema, CapabilitySchema, TaskIdSchema, TaskTypeSchema } from "./ids.js";

/**
 * Events are stream entries with one field, `event`, holding a JSON object with a `kind`.
 * Any process in any language may append them; the coordinator folds the valid ones and sends
 * the rest to the dead-letter stream with the reason.
 */
export const EVENT_FIELD = "event";
/** Entries longer than this are refused before parsing. */
export const MAX_EVENT_BYTES = 16 * 1024;

const at = z.number().int().nonnegative();
const epoch = z.number().int().nonnegative();
const durationMs = z
  .number()
  .finite()
  .nonnegative()
  .max(7 * 24 * 3600 * 1000);
/**
 * From submission to the task's first start, ms: carried by the event that ends the task's first
 * finished run (the claim keeps it in the record until then), so that the fold observes each
 * task's wait once, without reading the task. Before issue 10 it rode on the first `task:started`.
 */
const waitMs = z.number().int().nonnegative().optional();

/**
 * Appended when a task queued on its owner brings the owner's backlog (queued tasks no free slot
 * takes: queued - max(0, slots - running)) to a power of two (1, 2, 4, ...), for the leader's
 * steal trigger; other tasks queued append nothing. Earlier versions appended it for every task.
 */
export const TaskAssignedEvent = z.strictObject({
  kind: z.literal("task:assigned"),
  taskId: TaskIdSchema,
  agentId: AgentIdSchema,
  epoch,
  at,
});
/**
 * No longer appended (a start is in the task's record and the load sets): kept so that entries of
 * earlier agents still in the stream fold during a rolling upgrade.
 */
export const TaskStartedEvent = z.strictObject({
  kind: z.literal("task:started"),
  taskId: TaskIdSchema,
  agentId: AgentIdSchema,
  epoch,
  attempt: z.number().int().min(1),
  /** True when the same owner claims a task it was already running (a stalled job re-run). */
  restarted: z.boolean(),
  /** From submission to this start, ms: on a task's first start only (earlier agents). */
  waitMs,
  at,
});
export const TaskCompletedEvent = z.strictObject({
  kind: z.literal("task:completed"),
  taskId: TaskIdSchema,
  agentId: AgentIdSchema,
  taskType: TaskTypeSchema,
  epoch,
  durationMs,
  waitMs,
  at,
});
export const TaskFailedEvent = z.strictObject({
  kind: z.literal("task:failed"),
  taskId: TaskIdSchema,
  agentId: AgentIdSchema,
  taskType: TaskTypeSchema,
  epoch,
  durationMs,
  /** False when BullMQ will retry: the task goes back to queued on the same agent. */
  final: z.boolean(),
  error: z.string().max(2000),
  /** Queued when the task never started this time: its attempts were used up before it could. */
  fromState: z.enum(["queued", "running"]).optional(),
  waitMs,
  at,
});
export const TaskStolenEvent = z.strictObject({
  kind: z.literal("task:stolen"),
  taskId: TaskIdSchema,
  from: AgentIdSchema,
  to: AgentIdSchema,
  /** The epoch after the move. */
  epoch,
  directiveId: z.string().min(1).max(128),
  at,
});
/** The leader took a task from a dead or draining agent: to another agent, or (to "") unassigned. */
export const TaskReassignedEvent = z.strictObject({
  kind: z.literal("task:reassigned"),
  taskId: TaskIdSchema,
  from: AgentIdSchema,
  to: z.union([AgentIdSchema, z.literal("")]),
  fromState: z.enum(["queued", "running"]),
  epoch,
  at,
});
/**
 * A task was cancelled: at once when it was queued (on an agent, or waiting unassigned or delayed,
 * then `agentId` is ""), or when its handler returned after the cancel aborted its signal.
 */
export const TaskCancelledEvent = z.strictObject({
  kind: z.literal("task:cancelled"),
  taskId: TaskIdSchema,
  agentId: z.union([AgentIdSchema, z.literal("")]),
  fromState: z.enum(["queued", "running"]),
  epoch,
  waitMs,
  at,
});
/** An agent was asked to drain: it takes no new task, its queue is handed to others. */
export const AgentDrainingEvent = z.strictObject({
  kind: z.literal("agent:draining"),
  agentId: AgentIdSchema,
  at,
});
/** A task duration reported outside a run (the facade's recordTaskDuration). */
export const AgentDurationEvent = z.strictObject({
  kind: z.literal("agent:duration"),
  agentId: AgentIdSchema,
  taskType: TaskTypeSchema,
  durationMs,
  at,
});
export const AgentRegisteredEvent = z.strictObject({
  kind: z.literal("agent:registered"),
  agentId: AgentIdSchema,
  capabilities: z.array(CapabilitySchema).max(64),
  concurrency: z.number().int().min(1).max(1000),
  priority: z.number().int().min(0).max(100),
  at,
});
export const AgentMetricsEvent = z.strictObject({
  kind: z.literal("agent:metrics"),
  agentId: AgentIdSchema,
  cpu: z.number().finite().min(0).max(100),
  memoryMb: z.number().finite().nonnegative(),
  at,
});
export const AgentHeartbeatEvent = z.strictObject({
  kind: z.literal("agent:heartbeat"),
  agentId: AgentIdSchema,
  at,
});

export const EventSchema = z.discriminatedUnion("kind", [
  TaskAssignedEvent,
  TaskStartedEvent,
  TaskCompletedEvent,
  TaskFailedEvent,
  TaskStolenEvent,
  TaskReassignedEvent,
  TaskCancelledEvent,
  AgentDrainingEvent,
  AgentDurationEvent,
  AgentRegisteredEvent,
  AgentMetricsEvent,
  AgentHeartbeatEvent,
]);
export type WorkstealEvent = z.infer<typeof EventSchema>;
export type EventKind = WorkstealEvent["kind"];
export const EVENT_KINDS = EventSchema.options.map((o) => o.shape.kind.value);

export type ParsedEntry = { ok: true; event: WorkstealEvent } | { ok: false; reason: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const textEncoder = new TextEncoder();
/** Longest reason kept for a dead letter; reasons are printable ASCII so any reader can show them. */
export const MAX_REASON_CHARS = 300;

/** Printable ASCII only, bounded: a parser's message may quote the bad input (emoji, lone surrogates, control bytes). */
export function cleanReason(reason: string): string {
  const clean = reason.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > MAX_REASON_CHARS ? `${clean.slice(0, MAX_REASON_CHARS - 3)}...` : clean;
}

const byteLength = (f: string | Uint8Array) => (typeof f === "string" ? textEncoder.encode(f).length : f.length);

/**
 * Validates one stream entry's fields (flat `[field, value, ...]` as Redis returns them, as
 * strings or, to see invalid UTF-8 as it is, as bytes). An event is exactly one field, `event`,
 * holding JSON of a known kind; anything else (no fields, many or duplicated fields, oversized,
 * invalid UTF-8, bad JSON, a bad field) is refused with a reason in printable ASCII.
 */
export function parseEventEntry(fields: ReadonlyArray<string | Uint8Array> | null | undefined): ParsedEntry {
  const refuse = (reason: string): ParsedEntry => ({ ok: false, reason: cleanReason(reason) });
  if (!fields || fields.length === 0) return refuse("entry has no fields");
  const size = fields.reduce((n, f) => n + byteLength(f), 0);
  if (size > MAX_EVENT_BYTES) return refuse(`entry is ${size} bytes, over the ${MAX_EVENT_BYTES} limit`);
  if (fields.length !== 2) return refuse(`entry has ${Math.ceil(fields.length / 2)} fields; an event has exactly one, '${EVENT_FIELD}'`);
  let name: string;
  let raw: string;
  try {
    [name, raw] = fields.map((f) => (typeof f === "string" ? f : utf8.decode(f))) as [string, string];
  } catch {
    return refuse("entry is not valid UTF-8");
  }
  if (name !== EVENT_FIELD) return refuse(`entry has no '${EVENT_FIELD}' field`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return refuse(`bad JSON: ${(error as Error).message}`);
  }
  const kind = (json as { kind?: unknown } | null)?.kind;
  if (typeof kind !== "string" || !(EVENT_KINDS as string[]).includes(kind)) {
    return refuse(`unknown kind: ${JSON.stringify(kind ?? null).slice(0, 80)}`);
  }
  const common = commonEvent(json as Record<string, unknown>);
  if (common) return { ok: true, event: common };
  const parsed = EventSchema.safeParse(json);
  if (!parsed.success) return refuse(describeZodError(parsed.error));
  return { ok: true, event: parsed.data };
}

export function encodeEvent(event: WorkstealEvent): [string, string] {
  return [EVENT_FIELD, JSON.stringify(event)];
}

/** One line naming each bad field: `durationMs: Too small: expected number to be >=0`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`).join("; ");
}
