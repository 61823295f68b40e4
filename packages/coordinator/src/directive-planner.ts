import { performance } from "node:perf_hooks";
import type { Queue } from "bullmq";
import type { Logger } from "pino";
import { type AgentView, type Config, type Directive, DirectiveSchema, describeZodError } from "@worksteal/protocol";
import { planSteals, tailLength } from "@worksteal/planner";
import type { Store } from "@worksteal/store";
import type { AgentDirectory } from "./agent-directory.js";
import { readFleet } from "./fleet-view.js";
import type { ReplicaMetrics } from "./metrics.js";
import { takeSnapshot } from "./snapshot.js";

/**
 * The leader's planning round: snapshot, plan, and queue each directive as a BullMQ job on the
 * namespace's directive queue, stamped with the fence of the leadership that planned it.
 */
export class DirectivePlanner {
  private round = 0;

  constructor(
    private readonly store: Store,
    private readonly directory: AgentDirectory,
    readonly directives: Queue<Directive>,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly metrics?: Pick<ReplicaMetrics, "planned" | "plannedMalformed" | "planPhaseTook">,
  ) {}

  /**
   * Plans once with `fence`; returns the directives queued. `stillLeading` is asked again just
   * before queuing, so a leader that lost its lease while it planned queues nothing. `agents` is
   * the fleet as the leader round read it (read here when not given).
   */
  async planOnce(fence: number, stillLeading: () => boolean = () => true, agents?: AgentView[]): Promise<Directive[]> {
    this.round += 1;
    let phaseStart = performance.now();
    const phaseDone = (phase: "snapshot" | "plan" | "write") => {
      const now = performance.now();
      this.metrics?.planPhaseTook(phase, (now - phaseStart) / 1000);
      phaseStart = now;
    };
    const fleet = agents ?? (await readFleet(this.store, this.directory));
    const snapshot = await takeSnapshot(this.store, this.directory, fleet, this.directives, fence, this.round, {
      tailLength: tailLength(this.config),
      minTasksToSteal: this.config.minTasksToSteal,
      strategy: this.config.strategy,
    });
    phaseDone("snapshot");
    // No agent idle while another holds a backlog: nothing to plan.
    if (snapshot === undefined) return [];
    const planned = planSteals(snapshot, this.config);
    phaseDone("plan");
    if (planned.length === 0) return [];
    // Stamped before the leadership check: a directive stamped at time t was checked after t, so a
    // replica paused past its lease never writes one stamped after it woke.
    const createdAt = await this.store.now();
    if (!stillLeading()) return [];
    const { directives, malformed } = wellFormed(planned.map((d): Directive => ({ ...d, id: `f${fence}-${d.id}`, fence, createdAt })));
    if (malformed.length > 0) {
      this.log.error({ round: this.round, fence, malformed }, "planned directives the executor would refuse, dropped");
      this.metrics?.plannedMalformed(malformed.length);
    }
    if (directives.length === 0) return [];
    await this.directives.addBulk(
      directives.map((d) => ({
        name: "steal",
        data: d,
        opts: { jobId: d.id, attempts: 3, backoff: { type: "fixed", delay: 100 }, removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } },
      })),
    );
    phaseDone("write");
    this.metrics?.planned("steal", directives.length);
    this.log.info({ round: this.round, fence, directives: directives.map((d) => `${d.source}->${d.target} x${d.count}`) }, "directives queued");
    return directives;
  }
}

/**
 * The directives the executor would accept, and why each other one would be refused. A planner
 * bug (a task named twice, say) then costs one directive, not the executor's retries and a
 * malformed rejection for a steal that was never possible.
 */
export function wellFormed(directives: readonly Directive[]): { directives: Directive[]; malformed: Array<{ id: string; reason: string }> } {
  const valid: Directive[] = [];
  const malformed: Array<{ id: string; reason: string }> = [];
  for (const d of directives) {
    const parsed = DirectiveSchema.safeParse(d);
    if (parsed.success) valid.push(d);
    else malformed.push({ id: d.id, reason: describeZodError(parsed.error) });
  }
  return { directives: valid, malformed };
}
