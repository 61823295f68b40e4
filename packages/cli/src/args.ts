import { CLUSTER_SCHEME, NamespaceSchema, redisUrlProblem, SENTINEL_SCHEME, TLS_CLUSTER_SCHEME, WorkstealError } from "@worksteal/protocol";
import { z } from "zod";

/** A bad command line: one line for stderr, exit code 2. */
export class UsageError extends WorkstealError {
  override name = "UsageError";
}

/** The value of an option or argument, checked by `schema`; a refusal names `label`. */
export function check<T>(schema: z.ZodType<T>, value: unknown, label: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new UsageError(`${label}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
}

const PlainRedisUrlSchema = z
  .url({ protocol: /^rediss?$/, error: "expected a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL" })
  // Checks run on after a failed one; an unparsable URL is already reported above.
  .refine((u) => !URL.canParse(u) || new URL(u).hostname !== "", "the URL names no host");

/**
 * `redis://`, `rediss://` (TLS), `redis+sentinel://host:port,…/master` or `redis+cluster://host:port,…`
 * (`rediss+cluster://`): the multi-host forms' own parsers say what is wrong.
 */
export const RedisUrlSchema = z.string().superRefine((url, ctx) => {
  if ([SENTINEL_SCHEME, CLUSTER_SCHEME, TLS_CLUSTER_SCHEME].some((scheme) => url.startsWith(`${scheme}//`))) {
    const problem = redisUrlProblem(url);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    return;
  }
  const plain = PlainRedisUrlSchema.safeParse(url);
  if (!plain.success) for (const issue of plain.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
});

export { NamespaceSchema };

/** A count from the command line: `--limit 5`. */
export function countSchema(max: number) {
  return z
    .string()
    .regex(/^\d+$/, "must be a positive integer")
    .transform(Number)
    .pipe(z.number().int().min(1, "must be at least 1").max(max, `must be at most ${max}`));
}

/** Seconds, fractions allowed: `--timeout 0.5`. */
export function secondsSchema(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+(\.\d+)?$/, "must be a number of seconds")
    .transform(Number)
    .pipe(z.number().gt(min, `must be more than ${min}`).max(max, `must be at most ${max}`));
}

/** A Redis stream entry id: `1700000000000-0`. */
export const StreamIdSchema = z.string().regex(/^\d+-\d+$/, "expected a stream entry id such as 1700000000000-0");

/** A SCAN cursor as `tasks` prints it for the next page. */
export const CursorSchema = z.string().regex(/^\d+$/, "expected the cursor a previous page printed");
