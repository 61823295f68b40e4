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
  let turnEndScheduled = false;
  const batchers: Array<() => void> = [];
  const heldBatches: Array<() => void> = [];
  const sendHeld = () => {
    for (const sendBatch of heldBatches.splice(0)) sendBatch();
  };
  const endTurn = () => {
    turnEndScheduled = false;
    sendHeld();
    // The batches made in this turn go out with the turn's other writes, in the same socket write.
    for (const sendBatch of batchers.splice(0)) sendBatch();
    const socket = corked;
    corked = undefined;
    socket?.uncork();
  };
  const scheduleTurnEnd = () => {
    if (turnEndScheduled) return;
    turnEndScheduled = true;
    process.nextTick(endTurn);
  };
  redis.sendCommand = (...args: Parameters<Redis["sendCommand"]>) => {
    // A held batch's calls were made before this command: they go out ahead of it.
    if (heldBatches.length > 0) sendHeld();
    // The socket of the moment: a reconnect replaces it, and the one corked is the one uncorked.
    const socket = (redis as unknown as { stream?: Corkable }).stream;
    if (corked === undefined && socket !== undefined) {
      corked = socket;
      socket.cork();
      scheduleTurnEnd();
    }
    return send(...args);
  };
  turns.set(redis, {
    flush: endTurn,
    atTurnEnd: (sendBatch) => {
      batchers.push(sendBatch);
      scheduleTurnEnd();
    },
    untilNextCommand: (sendBatch) => {
      heldBatches.push(sendBatch);
      scheduleTurnEnd();
    },
  });
}

interface Turn {
  flush: () => void;
  atTurnEnd: (sendBatch: () => void) => void;
  untilNextCommand: (sendBatch: () => void) => void;
}

const turns = new WeakMap<object, Turn>();

/**
 * Sends now what `redis` holds back for the end of this turn (nothing when it coalesces no
 * writes), batches made in the turn included (`atTurnEnd`). For a caller about to run code that
 * may keep the turn busy for long, such as an agent's task handler: a command issued earlier in
 * the turn (another task's finish) must not wait for it.
 */
export function flushWrites(redis: object): void {
  turns.get(redis)?.flush();
}

/**
 * Runs `sendBatch` at the end of this turn, just before the turn's writes on `redis` go out (or
 * at `flushWrites`): a batch of calls made in this turn (store/claim-batch.ts) is sent then, as one
 * command, in the same socket write as the rest. On a connection that coalesces no writes, at the
 * end of the turn all the same.
 */
export function atTurnEnd(redis: object, sendBatch: () => void): void {
  const turn = turns.get(redis);
  if (turn) turn.atTurnEnd(sendBatch);
  else process.nextTick(sendBatch);
}

/**
 * Holds `sendBatch` until the next command is sent on `redis`, which it then precedes, or until
 * the end of this turn (or `flushWrites`): a batch of calls that must reach Redis in the order
 * they were made among the connection's commands (store/finish-batch.ts) takes in only calls
 * made one after another. Returns false, holding nothing, on a connection that coalesces no
 * writes: the caller sends its call at once.
 */
export function holdUntilNextCommand(redis: object, sendBatch: () => void): boolean {
  const turn = turns.get(redis);
  if (!turn) return false;
  turn.untilNextCommand(sendBatch);
  return true;
}
