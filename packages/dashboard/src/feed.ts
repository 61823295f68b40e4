import { readDashboardView, readTaskWaits, type Store } from "@worksteal/store";
import { History } from "./history.js";
import { toSnapshot } from "./snapshot.js";

export interface FeedOptions {
  store: Store;
  agentTtlMs: number;
  actions: boolean;
  intervalMs: number;
  historyMs: number;
}

/** Steals and dead letters each snapshot lists. */
const LIST_LIMIT = 50;
/** Event-stream entries read per snapshot for task waits, and the most waits kept of them. */
const WAIT_SCAN = 2000;
const WAIT_SAMPLE = 200;
/** Weight of the newest rate in an agent's smoothed speed. */
const SPEED_SMOOTHING = 0.3;

/**
 * One snapshot per interval, read by this process whatever the number of clients, serialised
 * once and handed to every subscriber: the cost in Redis calls does not grow with viewers. It
 * keeps reading while nobody watches, so that the charts have their history when a page opens
 * again, until stopped or until its connection is closed.
 */
export class SnapshotFeed {
  private readonly history: History;
  private readonly subscribers = new Set<(json: string) => void>();
  private readonly speeds = new Map<string, number>();
  private previous: { at: number; finished: Map<string, number> } | undefined;
  private lastEventId = "0-0";
  private latestJson: string | undefined;
  private latestFailed = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private endFirstRead!: () => void;
  /** Settles once the first read has ended (or the feed stopped before it). */
  readonly firstRead = new Promise<void>((resolve) => (this.endFirstRead = resolve));

  constructor(private readonly options: FeedOptions) {
    this.history = new History(options.historyMs);
    void this.tick();
  }

  /** The latest snapshot as JSON (or `{error}` when the last read failed); undefined before the first read ends. */
  get latest(): { json: string; failed: boolean } | undefined {
    return this.latestJson === undefined ? undefined : { json: this.latestJson, failed: this.latestFailed };
  }

  /** Calls `send` with each new snapshot (and at once with the latest); returns the unsubscribe. */
  subscribe(send: (json: string) => void): () => void {
    this.subscribers.add(send);
    if (this.latestJson !== undefined) send(this.latestJson);
    return () => this.subscribers.delete(send);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.subscribers.clear();
    this.endFirstRead();
  }

  private async tick(): Promise<void> {
    // The replica closed its connection (it stopped): nothing more will be read through it.
    if (this.options.store.redis.status === "end") {
      this.stop();
      return;
    }
    try {
      this.publish(await this.read(), false);
    } catch (error) {
      // Redis away: the page keeps its last picture and says why it is not moving.
      this.publish(JSON.stringify({ error: (error as Error).message }), true);
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), this.options.intervalMs);
      this.timer.unref();
    }
  }

  private async read(): Promise<string> {
    const { store, agentTtlMs, actions } = this.options;
    const [view, waits] = await Promise.all([
      readDashboardView(store, agentTtlMs, { steals: LIST_LIMIT, deadLetters: LIST_LIMIT }),
      readTaskWaits(store, this.lastEventId, WAIT_SCAN, WAIT_SAMPLE),
    ]);
    this.lastEventId = waits.lastId;
    const at = view.leadership.now;
    const finished = new Map(view.agents.map((a) => [a.id, a.workload.done + a.workload.failed]));
    let throughput = 0;
    if (this.previous !== undefined && at > this.previous.at) {
      const seconds = (at - this.previous.at) / 1000;
      for (const [id, count] of finished) {
        // An agent first seen (or whose counters the reconciler lowered) adds no rate of its own.
        const rate = Math.max(0, count - (this.previous.finished.get(id) ?? count)) / seconds;
        throughput += rate;
        this.speeds.set(id, SPEED_SMOOTHING * rate + (1 - SPEED_SMOOTHING) * (this.speeds.get(id) ?? rate));
      }
      this.history.add(
        at,
        throughput,
        waits.waits.map((w) => w.waitMs),
      );
    }
    for (const id of this.speeds.keys()) if (!finished.has(id)) this.speeds.delete(id);
    this.previous = { at, finished };
    return JSON.stringify(toSnapshot(view, this.speeds, this.history.current, actions, store.namespace));
  }

  private publish(json: string, failed: boolean): void {
    this.latestJson = json;
    this.latestFailed = failed;
    this.endFirstRead();
    for (const send of this.subscribers) send(json);
  }
}
