/** A call waiting in a batch (claim-batch.ts, finish-batch.ts) for its own answer. */
export interface BatchedCall<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * Sends the calls gathered in `batch`: one alone as `single` (the script of one task), several as
 * `many` (one script call), each settled by its own answer. An answer that is an Error (a
 * refusal, or a reply that could not be read) rejects its call only: Redis has already done what
 * the script did for every call of the batch, so its batch-mates must hear their own answers. A
 * failure of the call itself (a lost connection) rejects each call, as it would have rejected
 * each sent alone.
 */
export function sendBatch<T, C extends BatchedCall<T>>(
  batch: readonly C[],
  single: (call: C) => Promise<T>,
  many: (batch: readonly C[]) => Promise<ReadonlyArray<T | Error>>,
): void {
  if (batch.length === 1) {
    const only = batch[0]!;
    single(only).then(only.resolve, only.reject);
    return;
  }
  many(batch).then(
    (answers) => {
      answers.forEach((answer, i) => {
        if (answer instanceof Error) batch[i]!.reject(answer);
        else batch[i]!.resolve(answer);
      });
    },
    (error: unknown) => {
      for (const call of batch) call.reject(error);
    },
  );
}
