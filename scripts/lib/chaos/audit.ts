import type { Redis } from "ioredis";
import { type Keys, parseEventEntry } from "@worksteal/protocol";

const GROUP = "chaos-audit";

/**
 * Reads every event through a group of its own (so trimming waits for it too), keeping what the
 * checks need: steals, and per task and epoch the runs that ended in a retry (which leaves the
 * task queued at the same epoch, legitimately; the runs taken up again after a crash, which leave
 * it running there, the agents' handlers log themselves: `keys.runRestartLog`).
 * Entries the stream fuzzer wrote are told apart by id at check time. Also samples the lease:
 * when each fence was first seen holding it.
 */
export class EventAudit {
  readonly stolen: Array<{ id: string; taskId: string; epoch: number; fence: number; at: number }> = [];
  readonly retried: Array<{ id: string; key: string }> = [];
  /** Fence → its acquiredAt (Redis clock). */
  readonly fences = new Map<number, number>();

  private constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Before any process runs: the group must see the stream from its first entry. */
  static async create(redis: Redis, keys: Keys): Promise<EventAudit> {
    await redis.xgroup("CREATE", keys.events, GROUP, "0", "MKSTREAM");
    return new EventAudit(redis, keys);
  }

  async read(): Promise<void> {
    const entries = (await this.redis.xreadgroup("GROUP", GROUP, "auditor", "COUNT", 1000, "STREAMS", this.keys.events, ">")) as Array<
      [string, Array<[string, string[]]>]
    > | null;
    const batch = entries?.[0]?.[1] ?? [];
    for (const [id, fields] of batch) {
      const entry = parseEventEntry(fields);
      if (!entry.ok) continue;
      const event = entry.event;
      if (event.kind === "task:stolen") {
        const fence = Number(/^f(\d+)-/.exec(event.directiveId)?.[1] ?? -1);
        this.stolen.push({ id, taskId: event.taskId, epoch: event.epoch, fence, at: event.at });
      }
      if (event.kind === "task:failed" && !event.final) this.retried.push({ id, key: `${event.taskId}@${event.epoch}` });
    }
    if (batch.length > 0) await this.redis.xack(this.keys.events, GROUP, ...batch.map(([id]) => id));
  }

  async sampleLease(): Promise<void> {
    const lease = await this.redis.hgetall(this.keys.leader);
    if (lease.fence && !this.fences.has(Number(lease.fence))) this.fences.set(Number(lease.fence), Number(lease.acquiredAt));
  }
}
