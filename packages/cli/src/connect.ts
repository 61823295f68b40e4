import { type RedisTarget, WorkstealError } from "@worksteal/protocol";
import { closeRedis, createRedis, type RedisConnection } from "@worksteal/store";

/** Redis could not be reached, was lost, or stopped answering: one line for stderr, exit code 2. */
export class ConnectionError extends WorkstealError {
  override name = "ConnectionError";
}

/** Time to connect and hear Redis's first answer (the ready check). */
export const CONNECT_TIMEOUT_MS = 5000;
/**
 * Time any one command may go unanswered. The CLI's reads are small: a Redis that accepts
 * connections but does not answer (paused, stuck on a slow script) is what takes longer.
 */
export const COMMAND_TIMEOUT_MS = 10_000;

/** ioredis' message for a command that outlived `commandTimeout`. */
const COMMAND_TIMED_OUT = "Command timed out";

export interface Connection {
  redis: RedisConnection;
  /** The last error the connection reported (the real cause behind "Connection is closed."). */
  lastError(): Error | undefined;
  /** True while commands can be sent. */
  ready(): boolean;
  /**
   * QUIT, or with `drop`, close the socket at once: after a command timed out, a QUIT would
   * wait its turn behind that command.
   */
  close(drop?: boolean): Promise<void>;
}

/** Whether `error` is a command that got no answer within COMMAND_TIMEOUT_MS. */
export function isCommandTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === COMMAND_TIMED_OUT;
}

export function commandTimeoutMessage(shownUrl: string): string {
  return `Redis at ${shownUrl} did not answer within ${COMMAND_TIMEOUT_MS / 1000}s`;
}

/**
 * Connects once, without retrying; rejects with a ConnectionError naming the cause. The
 * connection's own lifecycle (connect, its error event, disconnect) is handled here, for the
 * CLI's one-line failures; every command the CLI sends goes through @worksteal/store.
 */
export async function connect(target: string | RedisTarget, shownUrl: string): Promise<Connection> {
  const redis = createRedis(target, {
    failFast: true,
    connectionName: "worksteal-cli",
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
  });
  let last: Error | undefined;
  redis.on("error", (error: Error) => {
    last = error;
  });
  let timer: NodeJS.Timeout | undefined;
  // The TCP connect has its own timeout; this one also bounds the ready check that follows.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000}s`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([redis.connect(), deadline]);
  } catch (error) {
    // An ended connection has no socket left: disconnect() would wait 2 s for its "close".
    if (redis.status !== "end") redis.disconnect();
    const cause = isCommandTimeout(last) ? undefined : last;
    throw new ConnectionError(`cannot reach Redis at ${shownUrl}: ${(cause ?? (error as Error)).message}`);
  } finally {
    clearTimeout(timer);
  }
  return {
    redis,
    lastError: () => last,
    ready: () => redis.status === "ready",
    close: async (drop = false) => {
      if (!drop) await closeRedis(redis);
      else if (redis.status !== "end") redis.disconnect();
    },
  };
}
