import { performance } from "node:perf_hooks";
import { type AgentStatus, type AgentView, EMPTY_WORKLOAD } from "@worksteal/protocol";
import {
  type AgentDurations,
  type AgentLoad,
  type AgentRecord,
  type LoadsRead,
  type LoadsReadTime,
  readAgentChanges,
  readAgentDurations,
  readAgentRecords,
  readAllAgentRecords,
  scanAgentIds,
  type Store,
} from "@worksteal/store";

/**
 * The fleet's loads are read whole again at least this often even when no change was stamped
 * since: a count edited by hand stamps none (maintenance's reconcile, which corrects it, has them
 * read again at once: `forgetLoads`).
 */
const LOADS_MAX_AGE_MS = 300_000;

/** The fleet's loads as last read. */
interface ReadLoads {
  /** When the latest read was made (Redis clock, and local clock as it was sent): the next reads the loads changed since. */
  latest: LoadsReadTime;
  /** When every load was last read (monotonic clock). */
  readAt: number;
  loads: Map<string, AgentLoad>;
  /** When only the changed agents' loads were read: which, and the read they changed since. */
  changed: { since: ReadLoads; ids: ReadonlySet<string> } | undefined;
}

/** Where the fleet's exact loads come from, each read with the Redis clock as of it. */
export interface LoadSource {
  /** Every agent's load (an agent missing holds nothing). */
  all(): Promise<LoadsRead>;
  /** The loads of the agents whose counts changed since the read made at `since`; undefined when that cannot be told. */
  changedSince(since: LoadsReadTime): Promise<LoadsRead | undefined>;
}

/** A profile or status that differs: what the views show of an agent beside its loads and metrics. */
function differs(a: AgentRecord, b: AgentRecord): boolean {
  return (
    a.statusField !== b.statusField ||
    a.profile.concurrency !== b.profile.concurrency ||
    a.profile.priority !== b.profile.priority ||
    a.profile.capabilities.join("\n") !== b.profile.capabilities.join("\n")
  );
}

/**
 * The leader's picture of the fleet's agents, kept up to date at O(changes) per refresh instead
 * of reading every agent hash each round: profiles and status fields change only when an agent
 * registers, drains, is drained or undrained, and the scripts that do so number each change in
 * a sorted set; liveness comes from the heartbeat sorted set, where one range read finds the
 * agents that went quiet. A quiet agent is confirmed from its hash before it counts as dead (an
 * agent of an earlier version writes only its hash). Counts change with every task and are read
 * exact (`fleet`), but only when the event stream has grown since they were last read: a fleet
 * where nothing happens costs one small transaction per round, whatever its size.
 */
export class AgentDirectory {
  private records = new Map<string, AgentRecord>();
  /** Agents whose heartbeat is older than the TTL: id -> last heartbeat. */
  private dead = new Map<string, number>();
  /** Goes up whenever what the views show of the agents changes, so that views built before are known stale. */
  private version = 0;
  private sortedIds: { version: number; ids: string[] } | undefined;
  private latestEventId = "";
  private readLoads: ReadLoads | undefined;
  /** Goes up with each `forgetLoads`: a read it ran across is used once, not kept. */
  private loadsForgotten = 0;
  private built: { version: number; loads: ReadLoads; views: AgentView[]; indexOf: Map<string, number> } | undefined;
  private lastChange = 0;
  private loaded = false;
  /** Where the rolling re-check goes on: the last known id it read, and the agents set's SSCAN cursor. */
  private recheckAfter = "";
  private scanCursor = "0";
  /** Redis clock minus the local clock, ms, as of the latest read. */
  private clockOffset = 0;
  private redisNow = 0;

  constructor(
    private readonly store: Store,
    private readonly agentTtlMs: number,
  ) {
    // Back from a lost connection, perhaps on another server (a failover) whose clock is behind
    // or which lacks the latest writes: the loads are read whole again, not from stamps since.
    store.redis.on("reconnecting", () => this.forgetLoads());
  }

  /** Reads what changed since the last refresh (everything, the first time). */
  async refresh(): Promise<void> {
    if (!this.loaded) {
      const all = await readAllAgentRecords(this.store);
      this.records = all.records;
      this.lastChange = all.lastChange;
      this.loaded = true;
      this.version += 1;
    }
    const changes = await readAgentChanges(this.store, this.lastChange, Date.now() + this.clockOffset - this.agentTtlMs);
    this.redisNow = changes.now;
    this.clockOffset = changes.now - Date.now();
    this.latestEventId = changes.latestEventId;
    if (changes.changed.length > 0) {
      this.version += 1;
      const ids = changes.changed.map((c) => c.id);
      const read = await readAgentRecords(this.store, ids);
      ids.forEach((id, i) => {
        const record = read[i];
        if (record) this.records.set(id, record);
        else this.dropRecord(id);
      });
      this.lastChange = Math.max(this.lastChange, ...changes.changed.map((c) => c.change));
    }
    const quiet = changes.quiet.filter((q) => this.records.has(q.id));
    const confirmed = await readAgentRecords(
      this.store,
      quiet.map((q) => q.id),
    );
    const dead = new Map<string, number>();
    quiet.forEach(({ id, lastHeartbeat }, i) => {
      const fresh = confirmed[i];
      if (!fresh) {
        this.dropRecord(id);
        this.version += 1;
        return;
      }
      const latest = Math.max(lastHeartbeat, fresh.lastHeartbeat);
      const known = this.records.get(id);
      if (!known || known.lastHeartbeat !== latest || differs(known, fresh)) this.version += 1;
      this.records.set(id, { ...fresh, lastHeartbeat: latest });
      if (changes.now - latest > this.agentTtlMs) dead.set(id, latest);
    });
    if (dead.size !== this.dead.size || [...dead].some(([id, latest]) => this.dead.get(id) !== latest)) this.version += 1;
    this.dead = dead;
  }

  /**
   * Reads again the next `count` known records (by id, from the start again past the last) and
   * looks at about as many members of the agents set (SSCAN), for what no change number
   * announced: a hash edited or removed by hand or by the CLI, an agent added without a number.
   * Maintenance calls it at each pass, so that the whole fleet is re-checked every so many
   * passes and never read at once.
   */
  async recheck(count: number): Promise<void> {
    const known = this.ids();
    let start = known.findIndex((id) => id > this.recheckAfter);
    if (start < 0) start = 0;
    const slice = known.slice(start, start + count);
    this.recheckAfter = slice.length > 0 && start + count < known.length ? slice[slice.length - 1]! : "";
    const scan = await scanAgentIds(this.store, this.scanCursor, count);
    this.scanCursor = scan.cursor;
    const ids = [...slice, ...scan.ids.filter((id) => !this.records.has(id))];
    const read = await readAgentRecords(this.store, ids);
    ids.forEach((id, i) => {
      const fresh = read[i];
      const known = this.records.get(id);
      if (!fresh) {
        if (known) this.version += 1;
        this.dropRecord(id);
        return;
      }
      if (!known || differs(known, fresh)) this.version += 1;
      // The later heartbeat of the two: the heartbeat sorted set may be ahead of the hash's copy.
      this.records.set(id, { ...fresh, lastHeartbeat: Math.max(fresh.lastHeartbeat, known?.lastHeartbeat ?? 0) });
    });
  }

  /** The newest event's id as of the latest refresh: the fleet read after it reflects every event up to it. */
  get eventsReadThrough(): string {
    return this.latestEventId;
  }

  /** The Redis clock as of the latest refresh, ms. */
  get now(): number {
    return this.redisNow;
  }

  /** How many agents are known. */
  get size(): number {
    return this.records.size;
  }

  /** Ids of the agents known, sorted (a new array: the caller may keep it). */
  ids(): string[] {
    if (this.sortedIds?.version !== this.version) this.sortedIds = { version: this.version, ids: [...this.records.keys()].sort() };
    return [...this.sortedIds.ids];
  }

  /** Drops an agent that was removed. */
  forget(agentId: string): void {
    this.dropRecord(agentId);
    this.dead.delete(agentId);
    this.version += 1;
  }

  /**
   * Forgets an agent's record and the load read for it: one registered again under the same id
   * must not show the counts it had before (its removal took its `loads:changed` stamp away), and
   * removed agents' loads must not pile up until the next full read.
   */
  private dropRecord(agentId: string): void {
    this.records.delete(agentId);
    this.readLoads?.loads.delete(agentId);
  }

  statusOf(agentId: string): AgentStatus | undefined {
    const record = this.records.get(agentId);
    if (!record) return undefined;
    return this.dead.has(agentId) ? "dead" : record.statusField;
  }

  /**
   * Every known agent as the planner sees it, sorted by id, with exact loads from `source`: the
   * loads of the agents whose counts changed since the last read read again (all of them when
   * that cannot be told, and every LOADS_MAX_AGE_MS). Views are built again only for what
   * changed: callers must not change their counts (they copy what they count on). Cpu and memory
   * are as of the agent's latest read; `withFreshMetrics` reads them again for the agents that
   * matter to a round.
   */
  async fleet(source: LoadSource): Promise<AgentView[]> {
    const loads = await this.currentLoads(source);
    const built = this.built;
    if (built?.version === this.version && built.loads === loads) return [...built.views];
    if (built?.version === this.version && loads.changed?.since === built.loads) {
      const views = [...built.views];
      for (const id of loads.changed.ids) {
        const i = built.indexOf.get(id);
        if (i !== undefined) views[i] = this.viewOf(id, loads.loads.get(id));
      }
      this.built = { ...built, loads, views };
      return [...views];
    }
    const ids = this.ids();
    const views = ids.map((id) => this.viewOf(id, loads.loads.get(id)));
    this.built = { version: this.version, loads, views, indexOf: new Map(ids.map((id, i) => [id, i])) };
    return [...views];
  }

  private async currentLoads(source: LoadSource): Promise<ReadLoads> {
    const forgotten = this.loadsForgotten;
    const loads = await this.readCurrentLoads(source);
    if (forgotten !== this.loadsForgotten) this.readLoads = undefined;
    return loads;
  }

  private async readCurrentLoads(source: LoadSource): Promise<ReadLoads> {
    const last = this.readLoads;
    if (last && performance.now() - last.readAt < LOADS_MAX_AGE_MS) {
      const changed = await source.changedSince(last.latest);
      if (changed?.loads.size === 0) {
        // Nothing changed up to `changed.at`: the same loads (and views), read on from there.
        last.latest = { at: changed.at, sentAt: changed.sentAt };
        return last;
      }
      if (changed) {
        // The views built from `last` copied its counts: its map may change under it.
        for (const [id, load] of changed.loads) last.loads.set(id, load);
        // Only the latest read's predecessor is ever asked for: a chain of them would never be freed.
        last.changed = undefined;
        return (this.readLoads = {
          latest: { at: changed.at, sentAt: changed.sentAt },
          readAt: last.readAt,
          loads: last.loads,
          changed: { since: last, ids: new Set(changed.loads.keys()) },
        });
      }
    }
    const readAt = performance.now();
    const read = await source.all();
    return (this.readLoads = { latest: { at: read.at, sentAt: read.sentAt }, readAt, loads: read.loads, changed: undefined });
  }

  /**
   * The loads read are no longer true, or their clock no longer to be trusted (a count was
   * corrected; the connection was lost: perhaps a failover to a server whose clock is behind):
   * the next `fleet` reads them all again.
   */
  forgetLoads(): void {
    this.readLoads = undefined;
    this.loadsForgotten += 1;
  }

  private viewOf(id: string, load: AgentLoad | undefined): AgentView {
    const record = this.records.get(id)!;
    return {
      ...record.profile,
      status: this.dead.has(id) ? "dead" : record.statusField,
      lastHeartbeat: this.dead.get(id) ?? record.lastHeartbeat,
      workload: {
        ...EMPTY_WORKLOAD,
        queued: load?.queued ?? 0,
        running: load?.running ?? 0,
        cpu: record.cpu,
        memoryMb: record.memoryMb,
        metricsAt: record.metricsAt,
      },
    };
  }

  /**
   * Reads the cpu and memory of `views` again (they change at every heartbeat), in place, and
   * returns their completions (the sum and count of run durations: the planner's per-agent
   * averages and speeds; the sum of their squares where folded: the spread). Completions stay out of the cached views, which every reader shares
   * (the placer among them): read for the agents that matter to one round only, they would
   * leave the views with some agents' completions and 0 for the rest, a mix that changes from
   * round to round.
   */
  async withFreshMetrics(views: readonly AgentView[]): Promise<Map<string, AgentDurations>> {
    const ids = views.map((v) => v.id);
    const [read, durations] = await Promise.all([readAgentRecords(this.store, ids), readAgentDurations(this.store, ids)]);
    const completions = new Map<string, AgentDurations>();
    views.forEach((view, i) => {
      completions.set(view.id, durations[i]!);
      const record = read[i];
      if (!record) return;
      view.workload.cpu = record.cpu;
      view.workload.memoryMb = record.memoryMb;
      view.workload.metricsAt = record.metricsAt;
      view.lastHeartbeat = Math.max(view.lastHeartbeat, record.lastHeartbeat);
    });
    return completions;
  }
}
