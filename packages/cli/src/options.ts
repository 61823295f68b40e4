import { type ParseArgsConfig, parseArgs } from "node:util";
import { AgentIdSchema, NamespaceSchema, TaskIdSchema, WorkstealError } from "@worksteal/protocol";
import { z } from "zod";
import { DEFAULT_DRAIN_TIMEOUT_S } from "./commands/drain.js";
import { DEFAULT_STEAL_LIMIT } from "./commands/steals.js";

/** A bad command line: one line for stderr, exit code 2. */
export class UsageError extends WorkstealError {
  override name = "UsageError";
}

const OPTIONS = {
  redis: { type: "string" },
  namespace: { type: "string", short: "n" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  limit: { type: "string" },
  wait: { type: "boolean" },
  timeout: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

export const RedisUrlSchema = z
  .url({ protocol: /^rediss?$/, error: "expected a redis:// or rediss:// URL" })
  // Checks run on after a failed one; an unparsable URL is already reported above.
  .refine((u) => !URL.canParse(u) || new URL(u).hostname !== "", "the URL names no host");

const LimitSchema = z
  .string()
  .regex(/^\d+$/, "must be a positive integer")
  .transform(Number)
  .pipe(z.number().int().min(1, "must be at least 1").max(10_000, "must be at most 10000"));

/** Seconds, fractions allowed: `--timeout 0.5`. */
const TimeoutSchema = z
  .string()
  .regex(/^\d+(\.\d+)?$/, "must be a number of seconds")
  .transform(Number)
  .pipe(z.number().gt(0, "must be more than 0").max(86_400, "must be at most 86400"));

export type Command =
  | { name: "help" }
  | { name: "status" }
  | { name: "agents" }
  | { name: "leader" }
  | { name: "task"; taskId: string }
  | { name: "steals"; limit: number }
  /** `wait` is set by --wait: poll until the agent is drained, failing after `timeoutMs`. */
  | { name: "agent"; action: "drain"; agentId: string; wait: { timeoutMs: number } | undefined }
  | { name: "agent"; action: "remove" | "undrain"; agentId: string };

export interface Invocation {
  command: Command | undefined;
  json: boolean;
  help: boolean;
  /** Only what the command line said; the environment and defaults are applied later. */
  redis: string | undefined;
  namespace: string | undefined;
}

export const COMMANDS = ["status", "agents", "leader", "task", "steals", "agent", "help"] as const;

export const AGENT_ACTIONS = ["drain", "undrain", "remove"] as const;

function check<T>(schema: z.ZodType<T>, value: unknown, label: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new UsageError(`${label}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
}

function noArguments(name: string, rest: readonly string[]): void {
  if (rest.length > 0) throw new UsageError(`${name} takes no arguments (got '${rest[0]}')`);
}

/**
 * `--limit -1` as `--limit=-1`: node's parseArgs takes a value starting with '-' for an option,
 * and refuses it as "ambiguous"; a negative number is never an option here (none is a digit), so
 * it reaches the option's own check, which says what values it takes.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    if (name !== undefined && name in OPTIONS && OPTIONS[name as keyof typeof OPTIONS].type === "string" && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i += 1;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/** Parses argv (without node and script). Throws UsageError with a one-line message. */
export function parseInvocation(argv: readonly string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message;
    // `--redis --json`: node calls the value "ambiguous", over three lines.
    const ambiguous = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(message);
    if (ambiguous) throw new UsageError(`${ambiguous[1]} needs a value (one starting with '-' is written ${ambiguous[1]}=-...)`);
    // node's other messages go on to explain '--'; the first sentence is the useful part.
    const first = message.split(/\n|\. To specify/)[0] ?? "bad arguments";
    throw new UsageError(`${first.replace(/^Unknown/, "unknown")} (see worksteal --help)`);
  }
  const { values, positionals } = parsed;
  const invocation: Invocation = {
    command: undefined,
    json: values.json === true,
    help: values.help === true,
    redis: values.redis === undefined ? undefined : check(RedisUrlSchema, values.redis, "--redis"),
    namespace: values.namespace === undefined ? undefined : check(NamespaceSchema, values.namespace, "--namespace"),
  };
  if (invocation.help) return invocation;

  const [name, ...rest] = positionals;
  if (name === undefined) return invocation;
  if (values.limit !== undefined && name !== "steals") throw new UsageError(`--limit applies only to steals`);
  const drains = name === "agent" && rest[0] === "drain";
  if (values.wait === true && !drains) throw new UsageError(`--wait applies only to agent drain`);
  if (values.timeout !== undefined && (!drains || values.wait !== true)) throw new UsageError(`--timeout applies only to agent drain --wait`);
  switch (name) {
    case "help":
      invocation.command = { name: "help" };
      break;
    case "status":
    case "agents":
    case "leader":
      noArguments(name, rest);
      invocation.command = { name };
      break;
    case "task": {
      if (rest.length !== 1) throw new UsageError(`task takes one task id (usage: worksteal task <id>)`);
      invocation.command = { name, taskId: check(TaskIdSchema, rest[0], "task id") };
      break;
    }
    case "steals":
      noArguments(name, rest);
      invocation.command = {
        name,
        limit: values.limit === undefined ? DEFAULT_STEAL_LIMIT : check(LimitSchema, values.limit, "--limit"),
      };
      break;
    case "agent": {
      const [action, ...ids] = rest;
      if (action === undefined) throw new UsageError(`agent needs an action (${AGENT_ACTIONS.join(", ")}; usage: worksteal agent drain <id>)`);
      if (action === "remove" || action === "undrain") {
        if (ids.length !== 1) throw new UsageError(`agent ${action} takes one agent id (usage: worksteal agent ${action} <id>)`);
        invocation.command = { name, action, agentId: check(AgentIdSchema, ids[0], "agent id") };
        break;
      }
      if (action !== "drain") throw new UsageError(`unknown agent action '${action}' (actions: ${AGENT_ACTIONS.join(", ")})`);
      if (ids.length !== 1) throw new UsageError(`agent drain takes one agent id (usage: worksteal agent drain <id>)`);
      const timeoutS = values.timeout === undefined ? DEFAULT_DRAIN_TIMEOUT_S : check(TimeoutSchema, values.timeout, "--timeout");
      invocation.command = {
        name,
        action,
        agentId: check(AgentIdSchema, ids[0], "agent id"),
        wait: values.wait === true ? { timeoutMs: Math.ceil(timeoutS * 1000) } : undefined,
      };
      break;
    }
    default:
      throw new UsageError(`unknown command '${name}' (commands: ${COMMANDS.join(", ")}; see worksteal --help)`);
  }
  return invocation;
}
