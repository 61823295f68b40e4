import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { AGENT_STATUSES } from "@worksteal/protocol";
import { readScrapeFigures, type ScrapeFigures } from "@worksteal/store";
import type { Replica } from "./replica.js";

let processRegistry: Registry | undefined;

/** prom-client's process metrics (CPU, memory, event loop, GC), once per process whatever the replicas in it. */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * Agents given series of their own (`worksteal_agent_queued`, `worksteal_agent_running`): those
 * holding the most tasks. One series per agent was 20,000 series and their label objects at
 * 10,000 agents, kept between scrapes, for a chart no one can read at that size; the totals are
 * `worksteal_tasks`.
 */
export const AGENT_SERIES_MAX = 100;

/** Fields of the namespace's counters hash, by prefix, and the metric each prefix is served as. */
const COUNTER_FAMILIES = [
  ["reconciler.", "worksteal_reconciler_corrections_total", "Corrections the leaders' reconciler made (fleet-wide), by kind"],
  ["maintenance.", "worksteal_maintenance_removals_total", "What the leaders' maintenance forgot (fleet-wide), by kind"],
  ["fold.", "worksteal_fold_anomalies_total", "Writes the fold script skipped or repaired (fleet-wide), by kind"],
] as const;

/**
 * The fleet's figures, read from Redis at each scrape (readScrapeFigures: a round trip per 500
 * agents, counted as read), and this replica's role. Every replica serves the same fleet-wide
 * values: aggregate them with max(), not sum().
 */
export class FleetMetrics {
  readonly registry = new Registry();
  private readonly leader = this.gauge("worksteal_replica_leader", "1 when this replica holds the leader lease", ["replica"]);
  private readonly leaderFence = this.gauge("worksteal_replica_fence", "The fence this replica leads with, 0 when it does not lead", ["replica"]);
  private readonly fence = this.gauge("worksteal_fence", "The latest fence issued: it grows by one at each change of leader");
  private readonly agents = this.gauge("worksteal_agents", "Registered agents by status (dead: heartbeat older than the agent TTL)", ["status"]);
  private readonly tasks = this.gauge("worksteal_tasks", "Tasks queued or running, summed over the folded workloads", ["state"]);
  private readonly agentQueued = this.gauge("worksteal_agent_queued", `Tasks queued on each of the ${AGENT_SERIES_MAX} agents holding the most tasks`, [
    "agent",
  ]);
  private readonly agentRunning = this.gauge("worksteal_agent_running", `Tasks running on each of the ${AGENT_SERIES_MAX} agents holding the most tasks`, [
    "agent",
  ]);
  private readonly unassigned = this.gauge("worksteal_unassigned_tasks", "Tasks waiting for a live capable agent");
  private readonly streamLength = this.gauge("worksteal_event_stream_length", "Entries in the event stream");
  private readonly deadLetters = this.gauge("worksteal_dead_letters", "Entries in the dead-letter stream");
  private readonly stealOperations = this.gauge("worksteal_steal_operations", "Steal operations recorded, within their retention");
  private readonly foldLag = this.gauge(
    "worksteal_fold_lag_events",
    "Events appended and not yet folded (the stream's entries-added less the fold cursor's count)",
  );
  private readonly counterFamilies = COUNTER_FAMILIES.map(
    ([prefix, name, help]) => [prefix, new Counter({ name, help, labelNames: ["kind"], registers: [this.registry] })] as const,
  );

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** Sets every figure at once, after the reads: a concurrent scrape never sees half of them. */
  set(replica: Pick<Replica, "id" | "leaderFence">, figures: ScrapeFigures): void {
    const { counts, counters, fold, agents } = figures;
    this.leader.set({ replica: replica.id }, replica.leaderFence === undefined ? 0 : 1);
    this.leaderFence.set({ replica: replica.id }, replica.leaderFence ?? 0);
    this.fence.set(counts.fence);
    for (const status of AGENT_STATUSES) this.agents.set({ status }, agents.byStatus[status]);
    this.tasks.set({ state: "queued" }, agents.queued);
    this.tasks.set({ state: "running" }, agents.running);
    // Removed agents' series go, and those no longer among the busiest.
    this.agentQueued.reset();
    this.agentRunning.reset();
    for (const agent of agents.busiest) {
      this.agentQueued.set({ agent: agent.id }, agent.queued);
      this.agentRunning.set({ agent: agent.id }, agent.running);
    }
    this.unassigned.set(counts.unassigned);
    this.streamLength.set(counts.events);
    this.deadLetters.set(counts.deadLetters);
    this.stealOperations.set(counts.steals);
    this.foldLag.set(fold.lag);
    // The counters live in Redis; each scrape serves their current totals.
    for (const [prefix, counter] of this.counterFamilies) {
      counter.reset();
      for (const [field, value] of Object.entries(counters)) {
        // A hand-edited field that is no count is left out rather than failing the scrape.
        if (field.startsWith(prefix) && Number.isFinite(value) && value >= 0) counter.inc({ kind: field.slice(prefix.length) }, value);
      }
    }
  }
}

/** The Prometheus text of one scrape: process, this replica's own counters, and the fleet's figures read now. */
export async function scrapeMetrics(replica: Replica, fleet: FleetMetrics): Promise<{ contentType: string; text: string }> {
  fleet.set(replica, await readScrapeFigures(replica.store, replica.config.agentTtlMs, AGENT_SERIES_MAX));
  const merged = Registry.merge([processMetrics(), replica.metrics.registry, fleet.registry]);
  return { contentType: merged.contentType, text: await merged.metrics() };
}
