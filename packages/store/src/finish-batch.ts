import { type BatchedCall, sendBatch } from "./batch-send.js";
import { holdUntilNextCommand } from "./coalesced-writes.js";
import type { FinishResult, RunOutcome, Store } from "./store.js";

interface PendingFinish extends BatchedCall<FinishResult> {
  taskId: string;
  epoch: number;
  outcome: RunOutcome;
  detail: string;
}

/**
 * One agent's finishes, each answered as `Store.finish` answers it, but those made one after
 * another on the connection, with no other command between them, sent as one script call
 * (`Store.finishMany`) just before the connection's next command or at the end of the turn
 * (coalesced-writes.ts). So each finish still reaches Redis ahead of every command sent after it
 * (an agent's finish must precede BullMQ's completion of its job), and the finishes of the
 * slots a socket read resumed, made in a row, cost one script dispatch in Redis and one command
 * in Node. Nothing waits for a timer or a later turn; a finish alone goes out as `finish`.
 */
export class FinishBatcher {
  private pending: PendingFinish[] = [];

  constructor(
    private readonly store: Store,
    private readonly agentId: string,
    private readonly retentionMs: number,
  ) {}

  finish(taskId: string, epoch: number, outcome: RunOutcome, detail: string): Promise<FinishResult> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0 && !holdUntilNextCommand(this.store.redis, () => this.send())) {
        // A connection that holds nothing back: sent now, in its place.
        this.store.finish(taskId, this.agentId, epoch, outcome, detail, this.retentionMs).then(resolve, reject);
        return;
      }
      this.pending.push({ taskId, epoch, outcome, detail, resolve, reject });
    });
  }

  private send(): void {
    const batch = this.pending;
    this.pending = [];
    sendBatch<FinishResult, PendingFinish>(
      batch,
      (only) => this.store.finish(only.taskId, this.agentId, only.epoch, only.outcome, only.detail, this.retentionMs),
      (runs) => this.store.finishMany(this.agentId, runs, this.retentionMs),
    );
  }
}
