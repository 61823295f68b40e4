import type { Redis } from "ioredis";

interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Makes `redis` send every command it is given in one turn of the event loop (one run of
 * callbacks and the promise continuations they start) in one socket write, instead of one write
 * per command. ioredis writes each command on its own, and on the task path those writes were
 * the largest single cost of an agent and of a submitting client: about a fifth of an agent's
 * CPU went to `write` system calls. Replies of many commands arrive in one read, and the
 * continuations they resume send their next commands in the same turn, so a busy connection
 * sends them together. Order on the connection is kept (cork only holds the bytes back), and
 * nothing waits longer than the end of the current turn. Pipelines and the offline queue write
 * through the same socket, in the same order, so they are held back alike. Synchronous work later
 * in the same turn holds them back too: code about to run for long (an agent's task handler) calls
 * `flushWrites` first. ioredis' `enableAutoPipelining` batches too, but builds a Pipeline per batch
 * (which copies every script defined on the connection) and measured no cheaper.
 */
export function coalesceWrites(redis: Redis): void {
  const send = redis.sendCommand.bind(redis);
  let corked: Corkable | undefined;
  const uncork = (socket: Corkable) => {
    if (corked !== socket) return;
    corked = undefined;
    socket.uncork();
  };
  redis.sendCommand = (...args: Parameters<Redis["sendCommand"]>) => {
    // The socket of the moment: a reconnect replaces it, and the one corked is the one uncorked.
    const socket = (redis as unknown as { stream?: Corkable }).stream;
    if (corked === undefined && socket !== undefined) {
      corked = socket;
      socket.cork();
      process.nextTick(() => uncork(socket));
    }
    return send(...args);
  };
  flushers.set(redis, () => {
    if (corked !== undefined) uncork(corked);
  });
}

const flushers = new WeakMap<object, () => void>();

/**
 * Sends now what `redis` holds back for the end of this turn (nothing when it coalesces no
 * writes). For a caller about to run code that may keep the turn busy for long, such as an
 * agent's task handler: a command issued earlier in the turn (another task's finish) must not
 * wait for it.
 */
export function flushWrites(redis: object): void {
  flushers.get(redis)?.();
}
