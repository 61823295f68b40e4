import { z } from "zod";
import { WorkstealError } from "./errors.js";
import { describeZodError } from "./events.js";
import { NamespaceSchema } from "./ids.js";
import { isTlsRedisUrl, redisUrlProblem } from "./redis-url.js";
import { MAX_DIRECTIVE_TASKS } from "./directive.js";
import { MAX_RESULT_BYTES } from "./task.js";

export const STRATEGIES = ["balanced", "classic"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

const ms = (d: number) => z.coerce.number().int().min(1).default(d);
/** A switch: a boolean, or its spelling in an environment variable. */
const flag = (d: boolean) =>
  z
    .union([z.boolean(), z.enum(["true", "false", "1", "0"])])
    .default(d)
    .transform((v) => v === true || v === "true" || v === "1");

/**
 * The shortest lease a leader can hold on to. A leader renews every third of its TTL and stops
 * acting a safety margin (at least 50 ms) before the lease would run out (see the coordinator's
 * leadership.ts). From 300 ms on, its second renewal still has that margin's time to complete
 * within the part of the lease it acts on; below, one slow round trip demotes it, and at 50 ms
 * the margin eats the whole lease.
 */
export const MIN_LEASE_TTL_MS = 300;

/**
 * The shortest fold lease. The folder extends its lease when a third of it has passed, and one
 * turn of its loop (a blocking read, the fold, a coalescing pause) must fit in the rest; it
 * therefore blocks and pauses for a fraction of the lease (the coordinator's foldTimingOf). Below
 * this, that fraction leaves reads of a few milliseconds: the loop would poll Redis busily.
 */
export const MIN_FOLD_LEASE_MS = 150;

/**
 * The configuration: the original coordinator's five settings, with their names and meaning,
 * plus what a distributed deployment needs. Raw input (env, file, code) → validated → compiled.
 * Each setting's description is also what `worksteal-coordinator --help` shows.
 */
export const ConfigSchema = z
  .object({
    enabled: flag(true).describe("Plan steals at all (true/false)."),
    stealThreshold: z.coerce.number().int().min(1).default(2).describe("Minimum task-count difference between two agents that triggers a steal (classic)."),
    maxStealBatch: z.coerce.number().int().min(1).max(MAX_DIRECTIVE_TASKS).default(10).describe("Most tasks one steal moves."),
    stealInterval: ms(1000).describe("Planner period, ms."),
    minTasksToSteal: z.coerce.number().int().min(1).default(2).describe("An agent must hold at least this many queued tasks before others may steal from it."),
    strategy: z
      .enum(STRATEGIES)
      .default("balanced")
      .describe(`Planning strategy: ${STRATEGIES.join(" or ")}.`),
    redisUrl: z
      .string()
      .default("redis://127.0.0.1:6379")
      .superRefine(checkRedisUrl)
      .describe(
        "Redis URL: redis://, rediss:// (TLS), redis+sentinel://host:port,host:port/masterName or redis+cluster://host:port,host:port (rediss+cluster:// with TLS) (REDIS_URL beats WORKSTEAL_REDIS_URL).",
      ),
    redisPassword: z.string().min(1).optional().describe("Redis password, used when the URL has none; never logged."),
    redisPasswordFile: z.string().min(1).optional().describe("File holding the Redis password (instead of redisPassword); never logged."),
    redisTlsCa: z.string().min(1).optional().describe("PEM file of the CA that signed the Redis server's certificate (rediss:// or rediss+cluster:// only)."),
    redisTlsCert: z
      .string()
      .min(1)
      .optional()
      .describe("PEM file of the client certificate shown to Redis (rediss:// or rediss+cluster:// only; with redisTlsKey)."),
    redisTlsKey: z
      .string()
      .min(1)
      .optional()
      .describe("PEM file of the client certificate's private key (rediss:// or rediss+cluster:// only; with redisTlsCert)."),
    namespace: NamespaceSchema.default("default").describe("Independent deployment inside one Redis."),
    leaseTtlMs: ms(5000).describe(`Leader lease, ms (at least ${MIN_LEASE_TTL_MS}): a dead leader is replaced within this.`),
    agentTtlMs: ms(15000).describe("An agent without a heartbeat for this long, ms, is dead."),
    heartbeatIntervalMs: ms(2000).describe("Agent and replica heartbeat period, ms (below agentTtlMs)."),
    agentRetentionMs: ms(3600 * 1000).describe("A dead agent holding no task is removed (its keys and BullMQ queue) once it has been dead this long, ms."),
    lockDurationMs: ms(30000).describe("BullMQ lock of a running job, ms, renewed while it runs: a dead agent's running tasks move once it expired."),
    foldBatchSize: z.coerce.number().int().min(1).max(10000).default(200).describe("Events per fold call."),
    foldLeaseMs: ms(3000).describe(
      `Fold lease, ms (at least ${MIN_FOLD_LEASE_MS}): one replica folds at a time; when it dies, another takes over within this.`,
    ),
    maintenanceIntervalMs: ms(5000).describe("Leader's period, ms, for reconciling workloads, re-adding missing jobs, trimming streams."),
    retentionMs: ms(24 * 3600 * 1000).describe("Finished task records and steal operations are kept this long, ms."),
    httpPort: z.coerce.number().int().min(0).max(65535).default(0).describe("Coordinator HTTP port for /healthz and /metrics; 0 turns it off."),
    httpHost: z.string().min(1).default("127.0.0.1").describe("Coordinator HTTP address."),
    dashboard: flag(false).describe("Serve the web dashboard at /dashboard/ on the HTTP port (read-only unless dashboardActions)."),
    dashboardActions: flag(false).describe("Let the dashboard drain agents and replay dead letters (POST requests); off, they are refused."),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info").describe("pino log level."),
    taskMaxAttempts: z.coerce.number().int().min(1).max(100).default(3).describe("A task's attempts when it names none (its maxAttempts)."),
    taskBackoffType: z
      .enum(["fixed", "exponential"])
      .default("exponential")
      .describe("A task's backoff between attempts when it names none: fixed or exponential."),
    taskBackoffDelayMs: z.coerce.number().int().min(0).default(200).describe("A task's first backoff delay, ms, when it names none (0 retries at once)."),
    taskBackoffMaxDelayMs: z.coerce.number().int().min(0).default(60_000).describe("Longest backoff delay, ms, when a task names none."),
    taskBackoffJitter: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe("Share of each backoff delay taken off at random (0 to 1), when a task names none."),
    taskTimeoutMs: z.coerce.number().int().min(0).default(0).describe("A task's attempt timeout, ms, when it names none; 0 for none."),
    cancelPollMs: ms(250).describe("How often an agent running tasks checks whether one was cancelled, ms."),
    maxResultBytes: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_RESULT_BYTES)
      .default(MAX_RESULT_BYTES)
      .describe(`Largest task result, bytes of JSON (at most ${MAX_RESULT_BYTES}); a larger one fails the attempt.`),
  })
  .strict()
  // Combinations that cannot work. The lease and the agent TTL are deliberately not compared: a
  // new leader waits one agent TTL before it declares any agent dead, whatever the lease.
  .superRefine((c, ctx) => {
    const refuse = (field: keyof typeof c, message: string) => ctx.addIssue({ code: "custom", path: [field], message });
    if (c.leaseTtlMs < MIN_LEASE_TTL_MS) {
      refuse(
        "leaseTtlMs",
        `${c.leaseTtlMs} ms is below ${MIN_LEASE_TTL_MS} ms: the leader's safety margin (at least 50 ms) leaves it too little of its lease to renew it in time`,
      );
    }
    if (c.foldLeaseMs < MIN_FOLD_LEASE_MS) {
      refuse(
        "foldLeaseMs",
        `${c.foldLeaseMs} ms is below ${MIN_FOLD_LEASE_MS} ms: the folder's reads, which must fit three times in its lease, would poll Redis busily`,
      );
    }
    if (c.redisPassword !== undefined && c.redisPasswordFile !== undefined)
      refuse("redisPasswordFile", "set either redisPassword or redisPasswordFile, not both");
    const tlsFile = (["redisTlsCa", "redisTlsCert", "redisTlsKey"] as const).find((key) => c[key] !== undefined);
    if (tlsFile !== undefined && !isTlsRedisUrl(c.redisUrl)) refuse(tlsFile, "TLS files need a rediss:// or rediss+cluster:// redisUrl");
    if ((c.redisTlsCert === undefined) !== (c.redisTlsKey === undefined)) refuse("redisTlsCert", "redisTlsCert and redisTlsKey go together");
    if (c.heartbeatIntervalMs >= c.agentTtlMs) {
      refuse(
        "heartbeatIntervalMs",
        `must be below agentTtlMs (${c.heartbeatIntervalMs} ms ≥ ${c.agentTtlMs} ms): a live agent would count as dead between two heartbeats`,
      );
    }
    // A finished task's record and a steal's move log must outlive what may still act on them: a
    // cut-off agent's run ends within one lock, a dead agent's leftovers move within one agent TTL.
    const longest = c.lockDurationMs >= c.agentTtlMs ? "lockDurationMs" : "agentTtlMs";
    if (c.retentionMs < c[longest]) {
      refuse(
        "retentionMs",
        `must be at least ${longest} (${c.retentionMs} ms < ${c[longest]} ms): finished tasks and steal records would expire while agents may still act on them`,
      );
    }
  });

/** A Redis URL of a form redisUrlProblem takes; the message says what is wrong with any other. */
function checkRedisUrl(url: string, ctx: z.RefinementCtx): void {
  const problem = redisUrlProblem(url);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
}

export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema>;

export class ConfigError extends WorkstealError {
  override name = "ConfigError";
}

/** Environment variable for each setting: WORKSTEAL_STEAL_THRESHOLD, ... (REDIS_URL beats WORKSTEAL_REDIS_URL). */
export function envNameOf(key: string): string {
  return `WORKSTEAL_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

const CONFIG_KEYS = Object.keys(ConfigSchema.shape) as Array<keyof ConfigInput>;

/** One setting as `--help` shows it. */
export interface SettingHelp {
  key: keyof ConfigInput;
  env: string;
  defaultValue: unknown;
  description: string;
}

/** Every setting with its environment variable, default and description, in schema order. */
export function configSettings(): SettingHelp[] {
  const defaults = ConfigSchema.parse({});
  return CONFIG_KEYS.map((key) => ({
    key,
    env: envNameOf(key),
    defaultValue: defaults[key],
    description: ConfigSchema.shape[key].description ?? "",
  }));
}

/** Where settings come from, each already read: resolving them is pure (reading is @worksteal/config's). */
export interface ConfigSources {
  /** A configuration file's settings (its parsed JSON object). */
  file?: Readonly<Record<string, unknown>>;
  /** Environment variables: WORKSTEAL_<NAME> for each setting, and REDIS_URL. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Highest precedence. */
  overrides?: ConfigInput;
}

/**
 * Settings that no longer mean anything but are still accepted (and ignored), so that an older
 * config file or environment keeps working: each with what replaced it, for the warning.
 */
export const DEPRECATED_CONFIG_KEYS: Readonly<Record<string, string>> = {
  claimIdleMs: "the fold no longer claims idle entries; foldLeaseMs sets how soon another replica takes the fold over",
};

/** The deprecated settings the sources name (a file key or its WORKSTEAL_ variable): the caller warns about them. */
export function deprecatedKeysIn(sources: ConfigSources): string[] {
  const env = sources.env ?? {};
  return Object.keys(DEPRECATED_CONFIG_KEYS).filter((key) => (sources.file !== undefined && key in sources.file) || (env[envNameOf(key)] ?? "") !== "");
}

/** Defaults < file < environment < overrides. Throws ConfigError naming each bad field. */
export function resolveConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? {};
  const raw: Record<string, unknown> = { ...sources.file };
  for (const key of CONFIG_KEYS) {
    const value = env[envNameOf(key)];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  // The conventional name wins, as in the CLI: --redis, then REDIS_URL, then WORKSTEAL_REDIS_URL.
  if (env.REDIS_URL) raw.redisUrl = env.REDIS_URL;
  for (const [key, value] of Object.entries(sources.overrides ?? {})) {
    if (value !== undefined) raw[key] = value;
  }
  return parseConfig(raw);
}

/** Validates raw settings (strings from the environment are coerced) and fills in the defaults. */
export function parseConfig(raw: unknown): Config {
  const parsed = ConfigSchema.safeParse(withoutDeprecatedKeys(raw));
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

function withoutDeprecatedKeys(raw: unknown): unknown {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([key]) => !(key in DEPRECATED_CONFIG_KEYS)));
}
