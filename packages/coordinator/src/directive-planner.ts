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

/** Snapshots a round takes at most, each spoilt by a directive that ran while it was read, before it plans nothing. */
const SNAPSHOT_ATTEMPTS = 5;

/** Jobs on the directive queue: waiting (or delayed, or prioritized) to run, and running. */
interface DirectiveCounts {
  waiting: number;
  running: number;
}

/** What a round known to have no directive in flight assumes, without reading. */
const NONE_IN_FLIGHT: DirectiveCounts = { waiting: 0, running: 0 };

export interface PlanResult {
  /** The directives queued. */
  directives: Directive[];
  /** Directives ran during each snapshot this round took, so it planned nothing: another round should look again soon. */
  unsettled: boolean;
}

/**
 * The leader's planning round: snapshot, plan, and queue each directive as a BullMQ job on the
 * namespace's directive queue, stamped with the fence of the leadership that planned it.
 *
 * A snapshot is read in steps (the fleet's counts, then the victims' tails, then the directives in
 * flight), and a directive that ran between them leaves it half before, half after its moves:
 * counts from before beside tails from after made its target look idle still and its source as
 * full, and the round moved as many tasks again (a later round then moved some back); tails from
 * before beside a directive no longer in flight named its tasks again (refused by the move
 * script). So the directive queue's counts are read before the fleet and after the snapshot, and
 * a snapshot during which any directive ran (one was running, or one finished) is read again.
 */
export class DirectivePlanner {
  private round = 0;
  /** Whether a directive may be in flight: false once the queue was read empty and none was queued since. */
  private mayHaveInFlight = true;

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
   * lost its lease while it planned queues nothing. `agents` is the fleet as the leader round read
   * it: used when no directive can have been in flight since, else read again here, after the
   * directive queue's counts.
   */
  async planOnce(fence: number, stillLeading: () => boolean = () => true, agents?: AgentView[]): Promise<PlanResult> {
    this.round += 1;
    let phaseStart = performance.now();
    const phaseDone = (phase: "snapshot" | "plan" | "write") => {
      const now = performance.now();
      this.metrics?.planPhaseTook(phase, (now - phaseStart) / 1000);
      phaseStart = now;
    };
    for (let attempt = 1; attempt <= SNAPSHOT_ATTEMPTS; attempt += 1) {
      const before = this.mayHaveInFlight ? await this.readDirectiveCounts() : NONE_IN_FLIGHT;
      // The round's read serves only when none can have run since (so the queue was not read).
      const fleet = agents !== undefined && attempt === 1 && before === NONE_IN_FLIGHT ? agents : await readFleet(this.store, this.directory);
      const snapshot = await takeSnapshot(this.store, this.directory, fleet, this.directives, fence, this.round, {
        tailLength: tailLength(this.config),
        minTasksToSteal: this.config.minTasksToSteal,
        strategy: this.config.strategy,
      });
      // No agent idle while another holds a backlog: nothing to plan, whatever ran meanwhile.
      if (snapshot === undefined) {
        phaseDone("snapshot");
        return { directives: [], unsettled: false };
      }
      const after = await this.readDirectiveCounts();
      phaseDone("snapshot");
      if (before.running === 0 && after.running === 0 && before.waiting === after.waiting) {
        return { directives: await this.queuePlanned(snapshot, fence, stillLeading, phaseDone), unsettled: false };
      }
      this.log.debug({ round: this.round, attempt, before, after }, "directives ran while the snapshot was read; reading it again");
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
    this.mayHaveInFlight = true;
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

  /**
   * The directive queue's counts, in one round trip. A directive moves tasks only while running,
   * so when none ran at either of two reads and as many waited, none moved any between them
   * (only this leader queues directives, one round at a time).
   */
  private async readDirectiveCounts(): Promise<DirectiveCounts> {
    const counts = await this.directives.getJobCounts("wait", "active", "delayed", "prioritized");
    const read = { waiting: (counts.wait ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0), running: counts.active ?? 0 };
    this.mayHaveInFlight = read.waiting + read.running > 0;
    return read;
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
