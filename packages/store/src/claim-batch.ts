import { type BatchedCall, sendBatch } from "./batch-send.js";
import { atTurnEnd } from "./coalesced-writes.js";
import type { ClaimedTask, Store } from "./store.js";

interface PendingClaim extends BatchedCall<ClaimedTask> {
  taskId: string;
  epoch: number;
}

/**
 * One agent's claims, each answered as `Store.claim` answers it, but those made in the same turn
 * of the event loop sent as one script call (`Store.claimMany`) at the end of the turn, with the
 * turn's other writes (coalesced-writes.ts). An agent's slots claim in bursts: one socket read
 * brings the next jobs of several slots, whose claims then leave together, and each claim sent
 * alone cost a script dispatch in Redis and a command in Node. Nothing waits for a timer or a
 * later turn; a claim alone in its turn goes out as `claim`.
 */
export class ClaimBatcher {
  private pending: PendingClaim[] = [];

  constructor(
    private readonly store: Store,
    private readonly agentId: string,
    private readonly retentionMs: number,
  ) {}

  claim(taskId: string, epoch: number): Promise<ClaimedTask> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) atTurnEnd(this.store.redis, () => this.send());
      this.pending.push({ taskId, epoch, resolve, reject });
    });
  }

  private send(): void {
    const batch = this.pending;
    this.pending = [];
    sendBatch<ClaimedTask, PendingClaim>(
      batch,
      (only) => this.store.claim(only.taskId, this.agentId, only.epoch, this.retentionMs),
      (claims) => this.store.claimMany(this.agentId, claims, this.retentionMs),
    );
  }
}
