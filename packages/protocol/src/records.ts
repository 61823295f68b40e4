import type { z } from "zod";
import { describeZodError } from "./events.js";

/**
 * Parses a Redis hash with a protocol schema. The schemas' transforms (JSON.parse of stored
 * strings) may throw rather than report, so both ways of failing become one reason line.
 */
export function parseRecord<S extends z.ZodType>(schema: S, hash: Record<string, string>): { ok: true; value: z.output<S> } | { ok: false; reason: string } {
  try {
    const parsed = schema.safeParse(hash);
    return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: describeZodError(parsed.error) };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
