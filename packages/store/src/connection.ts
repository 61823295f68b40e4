import { isClusterUrl, maskRedisUrl, type RedisTarget } from "@worksteal/protocol";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { coalesceWrites } from "./coalesced-writes.js";
import { clusterEndpointOf, redisEndpointOf } from "./connection-settings.js";

// Also exported here, where callers have always found it; it lives beside the URL forms it reads.
export { maskRedisUrl };

/**
 * A connection to one Redis (directly or through Sentinel) or to a Redis Cluster. Both speak the
 * same commands; on a cluster every key of a namespace carries the `{ns}` hash tag, so the
 * namespace's scripts, MULTI blocks and pipelines all go to the one node serving its slot.
 */
export type RedisConnection = Redis | Cluster;

/**
 * Under load a node may take seconds to answer CLUSTER SLOTS; ioredis' 1 s default would then
 * fail the slot-map refresh that a MOVED answer starts, and with it the commands waiting on it.
 */
const SLOTS_REFRESH_TIMEOUT_MS = 10_000;
/**
 * While a slot moves, a command on keys some of which have moved and some not (or do not exist
 * yet: a new task) is answered ASK by the old master and TRYAGAIN by the new one until the move
 * ends; ioredis retries every `retryDelayOnTryAgain` (100 ms) and counts both answers against
 * this limit: two redirections per 100 ms, so about 6 s of a move ridden out, where ioredis'
 * default of 16 gave up after 0.8 s.
 */
const MAX_REDIRECTIONS = 128;

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
 * Opens an ioredis connection to a `redis://`, `rediss://` or `redis+sentinel://` URL, or an
 * ioredis Cluster for `redis+cluster://` and `rediss+cluster://`, with the target's password,
 * ACL user and TLS certificates: every connection of the project is opened here. Every
 * connection gets an 'error' listener: without one ioredis prints "[ioredis] Unhandled error
 * event" and a stack at every failed reconnect.
 */
export function createRedis(target: string | RedisTarget, options: ConnectionOptions = {}): RedisConnection {
  const url = typeof target === "string" ? target : target.url;
  const settings = connectionSettings(options);
  const redis = isClusterUrl(url) ? openCluster(target, settings) : openSingle(target, settings);
  reportState(redis, url, options.log);
  return redis;
}

/** A connection to one Redis, directly or through the sentinels. */
function openSingle(target: string | RedisTarget, settings: RedisOptions): Redis {
  const endpoint = redisEndpointOf(target);
  const merged = { ...endpoint.options, ...settings };
  const redis = endpoint.url === undefined ? new Redis(merged) : new Redis(endpoint.url, merged);
  coalesceWrites(redis);
  return redis;
}

/**
 * A cluster connection: ioredis asks the given nodes for the slot map, follows MOVED and ASK
 * (a resharding), and retries TRYAGAIN and CLUSTERDOWN. Each node connection gets the same
 * settings a single connection would; reconnecting is the cluster's, with the same backoff.
 * Reads go to masters: a replica may lag behind what a script just wrote.
 */
function openCluster(target: string | RedisTarget, settings: RedisOptions): Cluster {
  const endpoint = clusterEndpointOf(target);
  const { retryStrategy, enableOfflineQueue, lazyConnect, enableReadyCheck, ...nodeSettings } = settings;
  return new Cluster(endpoint.nodes, {
    redisOptions: { ...endpoint.nodeOptions, ...nodeSettings },
    clusterRetryStrategy: retryStrategy ?? null,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableReadyCheck === undefined ? {} : { enableReadyCheck }),
    scaleReads: "master",
    slotsRefreshTimeout: SLOTS_REFRESH_TIMEOUT_MS,
    maxRedirections: MAX_REDIRECTIONS,
  });
}

/** The ioredis settings every connection of `options` gets, single or cluster. */
function connectionSettings(options: ConnectionOptions): RedisOptions {
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
  return base;
}

/** Logs the first outcome, each loss and each recovery of `redis`; swallows the per-retry errors. */
function reportState(redis: RedisConnection, url: string, log: ConnectionLog | undefined): void {
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
export async function closeRedis(redis: RedisConnection): Promise<void> {
  // A function, so that the compiler does not carry a narrowed status across the awaits.
  const ended = () => redis.status === "end";
  if (redis.status === "wait") redis.disconnect();
  if (ended()) return;
  if (redis.status !== "ready") {
    if (redis instanceof Cluster) redis.options.clusterRetryStrategy = () => null;
    else redis.options.retryStrategy = () => null;
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
    // A cluster none of whose nodes answers.
    error.name === "ClusterAllFailedError" ||
    error.message === "Connection is closed." ||
    error.message.startsWith("connect ")
  );
}

/**
 * The connection a SCAN for `pattern` (with the namespace's `{ns}` hash tag) must run on: the one
 * Redis, or the cluster master serving the pattern's slot, where every key of the namespace is.
 * A cluster sends a keyless command such as SCAN to any node, and a cursor means nothing on
 * another node. While the slot migrates, the keys already moved are on the importing master:
 * a scan then misses them (an inspection may, a deletion must scan every master).
 */
export async function scanNodeFor(redis: RedisConnection, pattern: string): Promise<Redis> {
  if (!(redis instanceof Cluster)) return redis;
  const slot = Number(await redis.cluster("KEYSLOT", pattern));
  const serving = redis.slots[slot]?.[0];
  const node = redis.nodes("master").find((n) => `${n.options.host}:${n.options.port}` === serving);
  if (node === undefined) throw new Error(`no cluster master known to serve slot ${slot} (the slot map is being refreshed: try again)`);
  return node;
}
