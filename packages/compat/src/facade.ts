import { EventEmitter } from "node:events";
import {
  type AgentProfileInput,
  AgentProfileSchema,
  type AgentView,
  averageDurationMs,
  type ConfigInput,
  type Directive,
  describeZodError,
  EventSchema,
  type StealOperation,
  STEAL_STATUSES,
  type StealStatus,
  type WorkstealEvent,
} from "@worksteal/protocol";
import { findBestAgent, type PlacementTask } from "@worksteal/planner";
import { appendEvent, countSteals, readAgents, readSteals } from "@worksteal/store";
import { type MaintenanceResult, Replica, type StealOutcome } from "@worksteal/coordinator";

/** Steal operations counted by status in getWorkloadStats: the newest this many. */
const STATS_STEALS = 10_000;

/** Emitted as `work:steal` for each steal this replica executed, with the task IDs it moved. */
export interface WorkStealEvent {
  directiveId: string;
  source: string;
  target: string;
  taskIds: string[];
  status: StealStatus;
}

export interface WorkloadStats {
  totalAgents: number;
  aliveAgents: number;
  totalQueued: number;
  totalRunning: number;
  agents: Array<{ id: string; status: AgentView["status"]; queued: number; running: number; cpu: number; memoryMb: number; avgDurationMs: number | undefined }>;
  /** By status over the newest steal operations; `total` counts all those retained. */
  steals: Record<StealStatus, number> & { total: number };
}

/**
 * The original in-process `WorkStealingCoordinator`'s surface over the distributed system, so
 * that its users can switch: `initialize()` joins the replica set, `checkAndSteal()` is one
 * planning round (the leader's; a follower plans nothing), workload updates become events,
 * and `unregisterAgent` drains the agent so that none of its tasks is orphaned.
 */
export class WorkStealingCoordinator extends EventEmitter {
  readonly replica: Replica;

  constructor(options: { config?: ConfigInput; replicaId?: string } = {}) {
    super();
    this.replica = new Replica({
      ...(options.replicaId ? { id: options.replicaId } : {}),
      ...(options.config ? { config: options.config } : {}),
      onSteal: (directive: Directive, outcome: StealOutcome) =>
        this.emit("work:steal", {
          directiveId: directive.id,
          source: directive.source,
          target: directive.target,
          taskIds: outcome.taskIds,
          status: outcome.status,
        } satisfies WorkStealEvent),
    });
  }

  private get store() {
    return this.replica.store;
  }

  initialize(): Promise<void> {
    return this.replica.start();
  }

  shutdown(): Promise<void> {
    return this.replica.stop();
  }

  async registerAgent(profile: AgentProfileInput): Promise<void> {
    const parsed = AgentProfileSchema.safeParse(profile);
    if (!parsed.success) throw new TypeError(`invalid agent profile: ${describeZodError(parsed.error)}`);
    await this.store.registerAgent(parsed.data);
  }

  /** Drains the agent: its queue goes to others, it finishes what it runs. */
  async unregisterAgent(agentId: string): Promise<void> {
    await this.store.drain(agentId);
  }

  /** Publishes the agent's cpu (percent) and memory (MB) as an `agent:metrics` event. */
  async updateAgentWorkload(agentId: string, update: { cpu: number; memoryMb: number }): Promise<void> {
    await this.publish({ kind: "agent:metrics", agentId, cpu: update.cpu, memoryMb: update.memoryMb, at: await this.store.now() });
  }

  /** Publishes a task duration as an `agent:duration` event (folded into the averages the planner uses). */
  async recordTaskDuration(agentId: string, durationMs: number, taskType = "default"): Promise<void> {
    await this.publish({ kind: "agent:duration", agentId, taskType, durationMs, at: await this.store.now() });
  }

  checkAndSteal(): Promise<Directive[]> {
    return this.replica.checkAndSteal();
  }

  findBestAgent(task: PlacementTask, agents: readonly AgentView[]): AgentView | undefined {
    return findBestAgent(task, agents);
  }

  async getWorkloadStats(): Promise<WorkloadStats> {
    const agents = await readAgents(this.store, this.replica.config.agentTtlMs);
    const { steals: recent } = await readSteals(this.store, STATS_STEALS);
    const steals = Object.fromEntries(STEAL_STATUSES.map((s) => [s, recent.filter((op) => op.status === s).length])) as Record<StealStatus, number>;
    return {
      totalAgents: agents.length,
      aliveAgents: agents.filter((a) => a.status === "alive").length,
      totalQueued: agents.reduce((n, a) => n + a.workload.queued, 0),
      totalRunning: agents.reduce((n, a) => n + a.workload.running, 0),
      agents: agents.map((a) => ({
        id: a.id,
        status: a.status,
        queued: a.workload.queued,
        running: a.workload.running,
        cpu: a.workload.cpu,
        memoryMb: a.workload.memoryMb,
        avgDurationMs: averageDurationMs(a.workload),
      })),
      steals: { ...steals, total: await countSteals(this.store) },
    };
  }

  async getStealOperations(limit = 100): Promise<StealOperation[]> {
    return (await readSteals(this.store, limit)).steals;
  }

  performMaintenance(): Promise<MaintenanceResult | undefined> {
    return this.replica.performMaintenance();
  }

  private async publish(event: WorkstealEvent): Promise<void> {
    const parsed = EventSchema.safeParse(event);
    if (!parsed.success) throw new TypeError(`invalid ${event.kind}: ${describeZodError(parsed.error)}`);
    await appendEvent(this.store, parsed.data);
  }
}
