import { Queue } from "bullmq";
import { Client } from "@worksteal/client";
import { agentQueueName, keysFor } from "@worksteal/protocol";
import { sleep } from "@worksteal/testkit";
import type { Fleet } from "../fleet.js";
import { A1_MAX_QUEUED, A2_MAX_LOAD, FEED_RATE, FEED_TICK_MS, TASK_MS } from "./setup.js";

/** Submits tasks to a1 at FEED_RATE per second while a1's queue and a2's load stay below their caps. */
export class Feeder {
  private readonly client: Client;
  private readonly a1: Queue;
  private readonly a2: Queue;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private credit = 0;
  private last = Date.now();
  private next = 0;
  private errors = 0;

  constructor(
    fleet: Fleet,
    private readonly progress: (line: string) => void,
  ) {
    const prefix = keysFor(fleet.namespace).bullPrefix;
    this.client = new Client({ config: { redisUrl: fleet.redisUrl, namespace: fleet.namespace, logLevel: "warn" }, redis: fleet.redis });
    this.a1 = new Queue(agentQueueName("a1"), { connection: fleet.redis, prefix });
    this.a2 = new Queue(agentQueueName("a2"), { connection: fleet.redis, prefix });
  }

  start(): void {
    this.last = Date.now();
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.tick()
        .catch((error: unknown) => {
          if (++this.errors <= 5) this.progress(`[feeder] ${String(error)}`);
        })
        .finally(() => {
          this.busy = false;
        });
    }, FEED_TICK_MS);
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    this.credit = Math.min(this.credit + ((now - this.last) * FEED_RATE) / 1000, 5);
    this.last = now;
    const due = Math.floor(this.credit);
    if (due === 0) return;
    const [a1, a2] = await Promise.all([this.a1.getJobCounts("wait", "prioritized"), this.a2.getJobCounts("wait", "prioritized", "active")]);
    const a1Queued = (a1.wait ?? 0) + (a1.prioritized ?? 0);
    const a2Load = (a2.wait ?? 0) + (a2.prioritized ?? 0) + (a2.active ?? 0);
    if (a1Queued >= A1_MAX_QUEUED || a2Load >= A2_MAX_LOAD) {
      this.credit = 0;
      return;
    }
    this.credit -= due;
    await Promise.all(
      Array.from({ length: due }, () =>
        this.client.submit({ id: `t${++this.next}`, type: "slow", payload: { ms: TASK_MS }, estimatedDurationMs: TASK_MS, agentId: "a1" }),
      ),
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await sleep(10);
    await Promise.all([this.a1.close(), this.a2.close()]);
    await this.client.close();
  }
}
