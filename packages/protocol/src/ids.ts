import { z } from "zod";

/**
 * Identifiers end up inside Redis keys and BullMQ job ids. BullMQ forbids `:` in job ids and
 * treats all-digit ids as its own counters, and `{`/`}` would break the namespace hash tag, so
 * ids are restricted to a safe alphabet.
 */
export const SAFE_ID = /^[A-Za-z0-9_.-]+$/;

export const NamespaceSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "namespace may only contain letters, digits, '_' and '-'");

export const AgentIdSchema = z.string().min(1).max(64).regex(SAFE_ID, "agent id may only contain letters, digits, '_', '.' and '-'");

export const TaskIdSchema = z.string().min(1).max(128).regex(SAFE_ID, "task id may only contain letters, digits, '_', '.' and '-'");

export const CapabilitySchema = z.string().min(1).max(64);

export type Namespace = z.infer<typeof NamespaceSchema>;
export type AgentId = z.infer<typeof AgentIdSchema>;
export type TaskId = z.infer<typeof TaskIdSchema>;

/** In Unicode mode a surrogate pair is one code point: this matches lone surrogates only. */
export const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/**
 * Task types name hash fields the fold script writes; a lone surrogate (from a JSON escape such as
 * "\ud83d") cannot be passed to Redis's Lua JSON decoder, so only well-formed strings pass.
 */
export const TaskTypeSchema = z
  .string()
  .min(1)
  .max(64)
  .refine((s) => !LONE_SURROGATE.test(s), "must be well-formed Unicode (no lone surrogates)");
