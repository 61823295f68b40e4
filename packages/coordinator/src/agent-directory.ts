import { performance } from "node:perf_hooks";
import { type AgentStatus, type AgentView, EMPTY_WORKLOAD } from "@worksteal/protocol";
import { type AgentLoad, type AgentRecord, readAgentChanges, readAgentRecords, readAllAgentRecords, type Store } from "@worksteal/store";

/**
 * Every so long the whole directory is read again: a change made by hand, or a removal by the
 * CLI (which records no change), is then seen even without a change number.
 */
const FULL_RELOAD_MS = 60_000;

/**
 * The leader's picture of the fleet's agents, kept up to date at O(changes) per refresh instead
 * of reading every agent hash each round: profiles and status fields change only when an agent
 * registers, drains, is drained or undrained, and the scripts that do so number each change in
 * a sorted set; liveness comes from the heartbeat sorted set, where one range read finds the
 * agents that went quiet. A quiet agent is confirmed from its hash before it counts as dead (an
 * agent of an earlier version writes only its hash). Counts are not kept here: they change with
 * every task and are read exact by the caller.
 */
export class AgentDirectory {
  private records = new Map<string, AgentRecord>();
  /** Agents whose heartbeat is older than the TTL: id -> last heartbeat. */
  private dead = new Map<string, number>();
  private lastChange = 0;
  private loadedAt: number | undefined;
  /** Redis clock minus the local clock, ms, as of the latest read. */
  private clockOffset = 0;
  private redisNow = 0;

  constructor(
    private readonly store: Store,
    private readonly agentTtlMs: number,
  ) {}

  /** Reads what changed since the last refresh (everything, the first time and every FULL_RELOAD_MS). */
  async refresh(): Promise<void> {
    if (this.loadedAt === undefined || performance.now() - this.loadedAt >= FULL_RELOAD_MS) {
      const all = await readAllAgentRecords(this.store);
      this.records = all.records;
      this.lastChange = all.lastChange;
      this.loadedAt = performance.now();
    }
    const changes = await readAgentChanges(this.store, this.lastChange, Date.now() + this.clockOffset - this.agentTtlMs);
    this.redisNow = changes.now;
    this.clockOffset = changes.now - Date.now();
    if (changes.changed.length > 0) {
      const ids = changes.changed.map((c) => c.id);
      const read = await readAgentRecords(this.store, ids);
      ids.forEach((id, i) => {
        const record = read[i];
        if (record) this.records.set(id, record);
        else this.records.delete(id);
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
        this.records.delete(id);
        return;
      }
      const latest = Math.max(lastHeartbeat, fresh.lastHeartbeat);
      this.records.set(id, { ...fresh, lastHeartbeat: latest });
      if (changes.now - latest > this.agentTtlMs) dead.set(id, latest);
    });
    this.dead = dead;
  }

  /** The Redis clock as of the latest refresh, ms. */
  get now(): number {
    return this.redisNow;
  }

  /** Ids of the agents known, in no order. */
  ids(): string[] {
    return [...this.records.keys()];
  }

  /** Drops an agent that was removed. */
  forget(agentId: string): void {
    this.records.delete(agentId);
    this.dead.delete(agentId);
  }

  statusOf(agentId: string): AgentStatus | undefined {
    const record = this.records.get(agentId);
    if (!record) return undefined;
    return this.dead.has(agentId) ? "dead" : record.statusField;
  }

  /**
   * Every known agent as the planner sees it, sorted by id, with the loads given (an agent
   * missing from `loads` holds nothing). Cpu and memory are as of the agent's latest read;
   * `withFreshMetrics` reads them again for the agents that matter to a round.
   */
  views(loads: ReadonlyMap<string, AgentLoad>): AgentView[] {
    return [...this.records.keys()].sort().map((id) => this.viewOf(id, loads.get(id)));
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

  /** Reads the cpu and memory of `views` again (they change at every heartbeat), in one round trip, in place. */
  async withFreshMetrics(views: AgentView[]): Promise<void> {
    const read = await readAgentRecords(
      this.store,
      views.map((v) => v.id),
    );
    views.forEach((view, i) => {
      const record = read[i];
      if (!record) return;
      view.workload.cpu = record.cpu;
      view.workload.memoryMb = record.memoryMb;
      view.workload.metricsAt = record.metricsAt;
      view.lastHeartbeat = Math.max(view.lastHeartbeat, record.lastHeartbeat);
    });
  }
}
