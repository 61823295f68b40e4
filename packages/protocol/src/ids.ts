import { z } from "zod";

/**
 * Identifiers end up inside Redis keys and BullMQ job ids. BullMQ forbids `:` in job ids and
 * treats all-digit ids as its own counters, and `{`/`}` would break the namespace hash tag, so
 * ids are restricted to a safe alphabet.
 */
const SAFE_ID = /^[A-Za-z0-9_.-]+$/;

export const NamespaceSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "namespace may only contain letters, digits, '_' and '-'");

export const AgentIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(SAFE_ID, "agent id may only contain letters, digits, '_', '.' and '-'");

export const TaskIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(SAFE_ID, "task id may only contain letters, digits, '_', '.' and '-'");

export const CapabilitySchema = z.string().min(1).max(64);

export type Namespace = z.infer<typeof NamespaceSchema>;
export type AgentId = z.infer<typeof AgentIdSchema>;
export type TaskId = z.infer<typeof TaskIdSchema>;
