import { readFileSync } from "node:fs";
import { z } from "zod";
import { describeZodError } from "./events.js";
import { NamespaceSchema } from "./ids.js";

export const STRATEGIES = ["balanced", "classic"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

const ms = (d: number) => z.coerce.number().int().min(1).default(d);

/**
 * The configuration: the original coordinator's five settings, with their names and meaning,
 * plus what a distributed deployment needs. Raw input (env, file, code) → validated → compiled.
 */
export const ConfigSchema = z
  .object({
    enabled: z
      .union([z.boolean(), z.enum(["true", "false", "1", "0"])])
      .default(true)
      .transform((v) => v === true || v === "true" || v === "1"),
    /** Minimum task-count difference between two agents that triggers a steal (classic). */
    stealThreshold: z.coerce.number().int().min(1).default(2),
    maxStealBatch: z.coerce.number().int().min(1).max(1000).default(10),
    /** Planner period, ms. */
    stealInterval: ms(1000),
    /** An agent must hold at least this many queued tasks before others may steal from it. */
    minTasksToSteal: z.coerce.number().int().min(1).default(2),
    strategy: z.enum(STRATEGIES).default("balanced"),
    redisUrl: z.string().url().default("redis://127.0.0.1:6379"),
    namespace: NamespaceSchema.default("default"),
    leaseTtlMs: ms(5000),
    agentTtlMs: ms(15000),
    heartbeatIntervalMs: ms(2000),
    /**
     * BullMQ lock of a running job (renewed by its agent while it runs). A dead agent's running
     * tasks are given to others only once their lock has expired.
     */
    lockDurationMs: ms(30000),
    /** Entries per fold call. */
    foldBatchSize: z.coerce.number().int().min(1).max(10000).default(200),
    /** Entries pending this long on a consumer are claimed by another replica (XAUTOCLAIM). */
    claimIdleMs: ms(30000),
    /** Leader's period for reconciling workloads, re-adding missing jobs and trimming streams. */
    maintenanceIntervalMs: ms(5000),
    /** Finished task records and steal operations are kept this long. */
    retentionMs: ms(24 * 3600 * 1000),
    /** Coordinator HTTP port for /healthz and /metrics; 0 turns it off. */
    httpPort: z.coerce.number().int().min(0).max(65535).default(0),
    httpHost: z.string().min(1).default("127.0.0.1"),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .strict()
  .refine((c) => c.heartbeatIntervalMs < c.agentTtlMs, {
    message: "heartbeatIntervalMs must be below agentTtlMs",
    path: ["heartbeatIntervalMs"],
  });

export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Environment variable for each setting: WORKSTEAL_STEAL_THRESHOLD, ... (REDIS_URL beats WORKSTEAL_REDIS_URL). */
export function envNameOf(key: string): string {
  return `WORKSTEAL_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

const CONFIG_KEYS = Object.keys(ConfigSchema.shape) as Array<keyof ConfigInput>;

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** JSON file; defaults to $WORKSTEAL_CONFIG when set. */
  file?: string;
  /** Highest precedence. */
  overrides?: ConfigInput;
}

/** Defaults < file < environment < overrides. Throws ConfigError naming each bad field. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const file = options.file ?? env.WORKSTEAL_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new ConfigError(`config file ${file}: ${(error as Error).message}`);
    }
    try {
      Object.assign(raw, JSON.parse(text));
    } catch (error) {
      throw new ConfigError(`config file ${file}: bad JSON: ${(error as Error).message}`);
    }
  }
  for (const key of CONFIG_KEYS) {
    const value = env[envNameOf(key)];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  // The conventional name wins, as in the CLI: --redis, then REDIS_URL, then WORKSTEAL_REDIS_URL.
  if (env.REDIS_URL) raw.redisUrl = env.REDIS_URL;
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) raw[key] = value;
  }
  return parseConfig(raw);
}

export function parseConfig(raw: unknown): Config {
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${describeZodError(parsed.error)}`);
  return parsed.data;
}
