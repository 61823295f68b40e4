import { maskRedisUrl, type RedisTarget } from "@worksteal/protocol";
import { Redis, type RedisOptions } from "ioredis";
import { redisEndpointOf } from "./connection-settings.js";

// Also exported here, where callers have always found it; it lives beside the URL forms it reads.
export { maskRedisUrl };

export type ConnectionRole =
  /** Commands and scripts: fail fast rather than queue forever while Redis is away. */
  | "command"
  /** BullMQ workers and blocking reads: must retry forever (BullMQ requires maxRetriesPerRequest null). */
  | "blocking";

/** Where a connection reports its state changes: a pino logger fits. */
export interface ConnectionLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface ConnectionOptions {
  role?: ConnectionRole;
  /** Give up connecting at once instead of retrying (the CLI: one clear line, then exit). */
  failFast?: boolean;
  connectionName?: string;
  /** TCP connect timeout, ms (ioredis connectTimeout). */
  connectTimeoutMs?: number;
  /**
   * A command without an answer this long fails (ioredis commandTimeout): a server that accepts
   * connections but never answers (paused, overloaded) then fails calls instead of hanging them.
   */
  commandTimeoutMs?: number;
  /**
   * Told, once each, when the connection is first up or found unreachable, when it is lost and
   * when it is back: never one line per retry. Lines name the URL with its password masked.
   * Without a log, failures surface only in the calls that fail.
   */
  log?: ConnectionLog;
}

/**
 * Opens an ioredis connection to a `redis://`, `rediss://` or `redis+sentinel://` URL, with the
 * target's password and TLS certificates: every connection of the project is opened here. Every
 * connection gets an 'error' listener: without one ioredis prints "[ioredis] Unhandled error
 * event" and a stack at every failed reconnect.
 */
export function createRedis(target: string | RedisTarget, options: ConnectionOptions = {}): Redis {
  const endpoint = redisEndpointOf(target);
  const role = options.role ?? "command";
  const base: RedisOptions = {
    maxRetriesPerRequest: role === "blocking" ? null : 20,
    enableReadyCheck: true,
    lazyConnect: options.failFast === true,
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    ...(options.connectTimeoutMs ? { connectTimeout: options.connectTimeoutMs } : {}),
    ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
  };
  if (options.failFast) {
    Object.assign(base, {
      maxRetriesPerRequest: 0,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    } satisfies RedisOptions);
  } else {
    // Reconnects back off: 100 ms, doubling, at most 2 s apart.
    base.retryStrategy = (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000);
  }
  const settings = { ...endpoint.options, ...base };
  const redis = endpoint.url === undefined ? new Redis(settings) : new Redis(endpoint.url, settings);
  reportState(redis, typeof target === "string" ? target : target.url, options.log);
  return redis;
}

/** Logs the first outcome, each loss and each recovery of `redis`; swallows the per-retry errors. */
function reportState(redis: Redis, url: string, log: ConnectionLog | undefined): void {
  const where = { redis: maskRedisUrl(url) };
  let state: "connecting" | "up" | "down" = "connecting";
  let lastError: Error | undefined;
  let downSince = 0;
  let failedAttempts = 0;
  const cause = () => (lastError ? { error: lastError.message } : {});
  const unreachable = () => {
    state = "down";
    downSince = Date.now();
    log?.warn({ ...where, ...cause() }, "redis unreachable; retrying with backoff");
  };
  redis.on("error", (error: Error) => {
    lastError = error;
    if (state === "connecting") unreachable();
  });
  // Emitted only when ioredis will try again: a quit() or disconnect() of ours is no loss. A
  // server that accepts and hangs up at once fails the first attempt without an error.
  redis.on("reconnecting", () => {
    failedAttempts += 1;
    if (state === "connecting") unreachable();
    if (state !== "up") return;
    state = "down";
    downSince = Date.now();
    failedAttempts = 0;
    log?.warn({ ...where, ...cause() }, "redis connection lost; reconnecting with backoff");
  });
  redis.on("ready", () => {
    if (state === "down") log?.info({ ...where, downMs: Date.now() - downSince, failedAttempts }, "redis connection back");
    else log?.info(where, "redis connected");
    state = "up";
    lastError = undefined;
  });
}

/**
 * Closes `redis` whatever state it is in, and never waits long for a Redis that is away: QUIT
 * while it is up (replies still pending arrive first). While it is down, retrying stops: the
 * next attempt (at most one backoff away) either reaches Redis, and QUITs, or ends the
 * connection, failing its queued calls with "Connection is closed." rather than leaving them
 * waiting for a Redis that may never come back.
 */
export async function closeRedis(redis: Redis): Promise<void> {
  // A function, so that the compiler does not carry a narrowed status across the awaits.
  const ended = () => redis.status === "end";
  if (redis.status === "wait") redis.disconnect();
  if (ended()) return;
  if (redis.status !== "ready") {
    redis.options.retryStrategy = () => null;
    await new Promise<void>((resolve) => {
      const settled = () => {
        redis.off("ready", settled);
        redis.off("end", settled);
        resolve();
      };
      redis.on("ready", settled);
      redis.on("end", settled);
    });
  }
  // Whatever QUIT meets (the connection lost meanwhile, a command timeout), disconnect() below
  // ends the connection: closing is the outcome asked for, so its error is not the caller's.
  if (redis.status === "ready") await redis.quit().catch(() => undefined);
  if (!ended()) redis.disconnect();
}

const CONNECTION_ERROR_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/**
 * Whether `error` says only that Redis is unreachable or the connection broke: what a
 * connection's own state lines already report, so callers need not log it at every retry.
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (
    (code !== undefined && CONNECTION_ERROR_CODES.has(code)) ||
    error.name === "MaxRetriesPerRequestError" ||
    error.message === "Connection is closed." ||
    error.message.startsWith("connect ")
  );
}
