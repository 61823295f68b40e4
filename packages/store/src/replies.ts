/** Milliseconds from a TIME reply: the Redis clock, the one clock every process agrees on. */
export function timeToMs(time: ReadonlyArray<string | number>): number {
  return Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
}

/**
 * The values of a pipeline's or transaction's replies, throwing the first error among them; an
 * aborted transaction (null) is an error naming `what` it read.
 */
export function replyValues(replies: Array<[Error | null, unknown]> | null, what: string): unknown[] {
  if (replies === null) throw new Error(`the transaction reading ${what} was aborted`);
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
