import { performance } from "node:perf_hooks";
import type { Queue } from "bullmq";
import type { Logger } from "pino";
import { type AgentView, type Config, type Directive, DirectiveSchema, describeZodError } from "@worksteal/protocol";
import { type PlannerSnapshot, planSteals, tailLength } from "@worksteal/planner";
import type { Store } from "@worksteal/store";
import type { AgentDirectory } from "./agent-directory.js";
import { readFleet } from "./fleet-view.js";
import type { ReplicaMetrics } from "./metrics.js";
import { takeSnapshot } from "./snapshot.js";

/** Snapshots a round takes at most, each spoilt by a move made while it was read, before it plans nothing. */
const SNAPSHOT_ATTEMPTS = 5;

/** The fleet as a round read it, and the namespace's move count read just before. */
export interface RoundFleet {
  agents: AgentView[];
  movesBefore: number;
}

export interface PlanResult {
  /** The directives queued. */
  directives: Directive[];
  /** Tasks moved during each snapshot this round took, so it planned nothing: another round should look again soon. */
  unsettled: boolean;
}

/**
 * The leader's planning round: snapshot, plan, and queue each directive as a BullMQ job on the
 * namespace's directive queue, stamped with the fence of the leadership that planned it.
 *
 * A snapshot is read in steps (the fleet's counts, then the victims' tails, then the directives in
 * flight), and a move made between them (a directive's, an evacuation's, a reassignment) leaves it
 * half before, half after the move: counts from before beside tails from after made its target
 * look idle still and its source as full, and the round moved as many tasks again (a later round
 * then moved some back); tails from before beside a directive no longer in flight named its tasks
 * again (refused by the move script). So the namespace's move count (`moves`, counted by the move
 * and reassign scripts themselves) is read before the fleet and after the snapshot, and a snapshot
 * that a move ran across is read again. A directive that is running but moves nothing (its
 * replica died holding it) does not hold planning up.
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
   * Plans once with `fence`. `stillLeading` is asked again just before queuing, so a leader that
   * lost its lease while it planned queues nothing. `fleet` is the fleet as the leader round read
   * it, with the move count read before it: the first snapshot builds on it, and is read again
   * (fleet included) if a task moved since.
   */
  async planOnce(fence: number, stillLeading: () => boolean = () => true, fleet?: RoundFleet): Promise<PlanResult> {
    this.round += 1;
    let phaseStart = performance.now();
    const phaseDone = (phase: "snapshot" | "plan" | "write") => {
      const now = performance.now();
      this.metrics?.planPhaseTook(phase, (now - phaseStart) / 1000);
      phaseStart = now;
    };
    for (let attempt = 1; attempt <= SNAPSHOT_ATTEMPTS; attempt += 1) {
      // The round's own read serves the first attempt: a move since shows in the count read after.
      const roundRead = attempt === 1 ? fleet : undefined;
      const before = roundRead?.movesBefore ?? (await this.store.readMoveCount());
      const agents = roundRead?.agents ?? (await readFleet(this.store, this.directory));
      const snapshot = await takeSnapshot(this.store, this.directory, agents, this.directives, fence, this.round, {
        tailLength: tailLength(this.config),
        minTasksToSteal: this.config.minTasksToSteal,
        strategy: this.config.strategy,
      });
      // No agent idle while another holds a backlog: nothing to plan, whatever moved meanwhile.
      if (snapshot === undefined) {
        phaseDone("snapshot");
        return { directives: [], unsettled: false };
      }
      const after = await this.store.readMoveCount();
      phaseDone("snapshot");
      if (after === before) return { directives: await this.queuePlanned(snapshot, fence, stillLeading, phaseDone), unsettled: false };
      this.log.debug({ round: this.round, attempt, moved: after - before }, "tasks moved while the snapshot was read; reading it again");
    }
    return { directives: [], unsettled: true };
  }

  /** Plans from `snapshot` and queues what it planned. */
  private async queuePlanned(
    snapshot: PlannerSnapshot,
    fence: number,
    stillLeading: () => boolean,
    phaseDone: (phase: "plan" | "write") => void,
  ): Promise<Directive[]> {
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
