import { parseSentinelUrl, type RedisTarget, SENTINEL_SCHEME } from "@worksteal/protocol";
import type { RedisOptions } from "ioredis";

/** What `new Redis(...)` is given to reach a target: a URL ioredis parses, or none for Sentinel. */
export interface RedisEndpoint {
  url?: string;
  /** Where and how to connect; the URL's own settings (host, port, db, user, password) beat these. */
  options: RedisOptions;
}

/**
 * How to reach `target`. A `redis://` or `rediss://` URL goes to ioredis as it is (TLS for
 * rediss://, with the target's certificates); the target's password applies when the URL has
 * none. A Sentinel URL becomes ioredis' sentinel options: it asks the sentinels for the primary,
 * and asks again after a failover.
 */
export function redisEndpointOf(target: string | RedisTarget): RedisEndpoint {
  const { url, password, tls } = typeof target === "string" ? ({ url: target } as RedisTarget) : target;
  const givenPassword = password === undefined ? {} : { password };
  if (!url.startsWith(SENTINEL_SCHEME)) {
    return { url, options: { ...givenPassword, ...(url.startsWith("rediss://") && tls !== undefined ? { tls: { ...tls } } : {}) } };
  }
  const sentinel = parseSentinelUrl(url);
  if (typeof sentinel === "string") throw new Error(`bad Sentinel URL: ${sentinel}`);
  return {
    options: {
      sentinels: sentinel.sentinels,
      name: sentinel.masterName,
      ...givenPassword,
      ...(sentinel.password === undefined ? {} : { password: sentinel.password }),
      ...(sentinel.username === undefined ? {} : { username: sentinel.username }),
    },
  };
}
