import { Redis, type RedisOptions } from "ioredis";

export type ConnectionRole =
  /** Commands and scripts: fail fast rather than queue forever while Redis is away. */
  | "command"
  /** BullMQ workers and blocking reads: must retry forever (BullMQ requires maxRetriesPerRequest null). */
  | "blocking";

export interface ConnectionOptions {
  role?: ConnectionRole;
  /** Give up connecting at once instead of retrying (the CLI: one clear line, then exit). */
  failFast?: boolean;
  connectionName?: string;
}

/** Opens an ioredis connection to a `redis://` or `rediss://` URL. */
export function createRedis(url: string, options: ConnectionOptions = {}): Redis {
  const role = options.role ?? "command";
  const base: RedisOptions = {
    maxRetriesPerRequest: role === "blocking" ? null : 20,
    enableReadyCheck: true,
    lazyConnect: options.failFast === true,
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
  };
  if (options.failFast) {
    Object.assign(base, {
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    } satisfies RedisOptions);
  } else {
    base.retryStrategy = (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000);
  }
  return new Redis(url, base);
}
