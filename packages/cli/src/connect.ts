import type { Redis } from "ioredis";
import { createRedis } from "@worksteal/store";

/** Redis could not be reached (or was lost): one line for stderr, exit code 2. */
export class ConnectionError extends Error {
  override name = "ConnectionError";
}

export interface Connection {
  redis: Redis;
  /** The last error the connection reported (the real cause behind "Connection is closed."). */
  lastError(): Error | undefined;
  /** True while commands can be sent. */
  ready(): boolean;
  close(): Promise<void>;
}

/**
 * Drops the connection unless it already ended: ioredis' disconnect() on a closed socket arms a
 * 2 s timer waiting for a "close" that never comes, which would hold the process open.
 */
function stop(redis: Redis): void {
  if (redis.status !== "end") redis.disconnect();
}

/** Connects once, without retrying; rejects with a ConnectionError naming the cause. */
export async function connect(url: string, shownUrl: string): Promise<Connection> {
  const redis = createRedis(url, { failFast: true, connectionName: "worksteal-cli" });
  let last: Error | undefined;
  // Without a listener ioredis prints "[ioredis] Unhandled error event" with a stack.
  redis.on("error", (error: Error) => {
    last = error;
  });
  try {
    await redis.connect();
  } catch (error) {
    stop(redis);
    throw new ConnectionError(`cannot reach Redis at ${shownUrl}: ${(last ?? (error as Error)).message}`);
  }
  return {
    redis,
    lastError: () => last,
    ready: () => redis.status === "ready",
    close: async () => {
      try {
        await redis.quit();
      } catch {
        stop(redis);
      }
    },
  };
}
