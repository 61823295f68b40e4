import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { errorSummary, isConnectionError, LeaseLostError, type Store } from "@worksteal/store";

export interface LeadershipOptions {
  replicaId: string;
  /** Unique to this process start: the lease belongs to it, not to the replica id. */
  token: string;
  leaseTtlMs: number;
}

/** How often a leader renews: three chances before its lease runs out. */
export const renewIntervalOf = (ttlMs: number) => Math.max(10, Math.floor(ttlMs / 3));
/** How often a follower tries to take the lease: a released lease is taken within this. */
export const acquireIntervalOf = (ttlMs: number) => Math.max(10, Math.min(100, Math.floor(ttlMs / 4)));
/**
 * A leader stops acting this long before its lease would expire by its own clock, so that a
 * clock running slow against Redis's, or a late timer, never lets two leaders act at once.
 */
export const safetyMarginOf = (ttlMs: number) => Math.max(50, Math.floor(ttlMs / 10));

/**
 * The leader lease, seen from one replica. A leader counts its lease valid until the time it
 * *sent* its last successful renewal plus the TTL, less a safety margin, on its own monotonic
 * clock; it acts (`current()`) only while that holds. A process paused past its lease (GC, VM
 * freeze, SIGSTOP) therefore wakes up demoted, before it can plan again.
 */
export class Leadership {
  private fence: number | undefined;
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly options: LeadershipOptions,
    private readonly log: Logger,
    private readonly onChange: (fence: number | undefined) => void,
  ) {}

  /** This leadership's fence while its lease is valid by this replica's clock, else undefined. */
  current(): number | undefined {
    if (this.fence === undefined) return undefined;
    if (performance.now() < this.validUntil) return this.fence;
    this.demote("lease validity ran out before a renewal succeeded");
    return undefined;
  }

  /** Tries once at once (a lone replica leads from its first moment), then keeps trying or renewing. */
  async start(): Promise<void> {
    await this.tick();
  }

  /** Stops renewing; a leader releases its lease so that another takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const fence = this.fence;
    if (fence === undefined) return;
    this.fence = undefined;
    // Not released (Redis away): the lease expires after its TTL, and another replica takes it then.
    const released = await this.store.releaseLease(this.options.replicaId, fence).catch((error: unknown) => {
      if (!isConnectionError(error)) this.log.warn({ fence, error: errorSummary(error) }, "could not release the lease");
      return false;
    });
    this.log.info({ fence, released }, "leadership released");
    this.onChange(undefined);
  }

  private async tick(): Promise<void> {
    const { replicaId, leaseTtlMs } = this.options;
    const sentAt = performance.now();
    try {
      if (this.fence !== undefined) {
        await this.store.renewLease(replicaId, this.fence, leaseTtlMs);
        if (this.fence !== undefined) this.validUntil = sentAt + leaseTtlMs - safetyMarginOf(leaseTtlMs);
      } else {
        const lease = await this.store.acquireLease(replicaId, leaseTtlMs, this.options.token);
        if (lease.held && !this.stopped) {
          this.fence = lease.fence;
          this.validUntil = sentAt + leaseTtlMs - safetyMarginOf(leaseTtlMs);
          this.log.info({ fence: lease.fence }, "became leader");
          this.onChange(lease.fence);
        }
      }
    } catch (error) {
      if (error instanceof LeaseLostError) this.demote("lease lost to another replica or expired");
      // A lost connection is reported once by the connection itself, not at every attempt.
      else if (!isConnectionError(error)) this.log.warn({ error: errorSummary(error) }, "lease call failed");
    }
    // Checked after every attempt, so a leader that cannot reach Redis demotes itself in time.
    this.current();
    if (this.stopped) return;
    const next = this.fence !== undefined ? renewIntervalOf(leaseTtlMs) : acquireIntervalOf(leaseTtlMs);
    this.timer = setTimeout(() => void this.tick(), next);
  }

  private demote(reason: string): void {
    if (this.fence === undefined) return;
    this.log.warn({ fence: this.fence, reason }, "stopped leading");
    this.fence = undefined;
    this.onChange(undefined);
  }
}
