import { Counter, Histogram, Registry } from "prom-client";
import type { Directive, FoldedTaskFigures } from "@worksteal/protocol";
import { type FoldResult, MAX_TASK_TYPES, readTaskTimes, type Store } from "@worksteal/store";
import type { StealOutcome } from "./executor.js";

/** Seconds, from tens of milliseconds to an hour: a queue may wait that long under a backlog. */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** A steal's tasks start within a planning round or two when it helps at all. */
const STEAL_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
/** Seconds, from a millisecond to a minute, fine enough around the leader round's goals (100 ms p50, 250 ms p99). */
const ROUND_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 20, 30, 60];
/** Directives whose first running task is still awaited; a busier replica forgets the oldest. */
const STEALS_AWAITED = 256;
/** Tasks of one directive looked at: the first to run is among the first handed over. */
const TASKS_WATCHED_PER_STEAL = 50;
/** A directive none of whose tasks started within this long is forgotten unobserved. */
const STEAL_WATCH_MS = 10 * 60_000;
/** Label for task types past the first MAX_TASK_TYPES seen: a label per type would grow without end. */
const OTHER_TYPES = "(other)";

interface TypeFigures {
  done: Counter.Internal;
  failed: Counter.Internal;
  completedRun: Histogram.Internal<"type" | "outcome">;
  failedRun: Histogram.Internal<"type" | "outcome">;
}

interface AwaitedSteal {
  createdAt: number;
  taskIds: string[];
}

/**
 * What this replica did, counted in process: events it folded, directives it planned and
 * executed, tasks it moved or reassigned, and the latencies of the events it folded. Folding is
 * exactly once across replicas, so each task's latencies are observed by one replica only and
 * sums over replicas are the fleet's. Fleet-wide figures read from Redis at scrape time are
 * added by `scrapeMetrics` (metrics-scrape.ts), on the same registry.
 */
export class ReplicaMetrics {
  readonly registry = new Registry();
  private readonly eventsFolded = this.counter("worksteal_events_folded_total", "Events this replica folded into the workload figures");
  private readonly eventsDeadLettered = this.counter("worksteal_events_dead_lettered_total", "Events this replica sent to the dead-letter stream");
  private readonly directivesPlanned = this.counter("worksteal_directives_planned_total", "Directives this replica planned as leader", ["kind"]);
  private readonly directivesMalformed = this.counter(
    "worksteal_directives_malformed_total",
    "Directives this replica planned as leader that the directive schema refused: dropped, not queued",
  );
  private readonly directivesExecuted = this.counter("worksteal_directives_executed_total", "Directives this replica executed, by outcome", ["status"]);
  private readonly directivesRejected = this.counter(
    "worksteal_directives_rejected_total",
    "Directives this replica executed that moved fewer tasks than planned, by reason",
    ["reason"],
  );
  private readonly tasksMoved = this.counter("worksteal_tasks_moved_total", "Tasks this replica moved between agents by executing directives");
  private readonly tasksReassigned = this.counter(
    "worksteal_tasks_reassigned_total",
    "Tasks of dead or draining agents this replica reassigned as leader: to an agent, or unassigned",
    ["to"],
  );
  private readonly tasksDone = this.counter("worksteal_tasks_done_total", "Tasks completed, counted by the replica that folded the event", ["type"]);
  private readonly tasksFailed = this.counter("worksteal_tasks_failed_total", "Tasks failed for good, counted by the replica that folded the event", ["type"]);
  private readonly stealLatency = this.histogram(
    "worksteal_steal_latency_seconds",
    "From a directive's planning to the first of its moved tasks running (directives this replica executed)",
    STEAL_LATENCY_BUCKETS,
  );
  private readonly taskWait = this.histogram(
    "worksteal_task_wait_seconds",
    "From submission to the first run's start (events this replica folded)",
    DURATION_BUCKETS,
  );
  private readonly taskRun = this.histogram(
    "worksteal_task_run_seconds",
    "Run time of completed and failed runs, by task type (events this replica folded)",
    DURATION_BUCKETS,
    ["type", "outcome"],
  );
  private readonly leaderRound = this.histogram(
    "worksteal_leader_round_seconds",
    "One leader round as this replica ran it: reap, plan steals, place waiting tasks",
    ROUND_BUCKETS,
  );
  private readonly planPhase = this.histogram(
    "worksteal_plan_phase_seconds",
    "A leader round by phase: fleet (agents and their counts read), snapshot (the planner's further reads), plan (the pure planner), write (directives queued)",
    ROUND_BUCKETS,
    ["phase"],
  );
  private readonly maintenancePass = this.histogram(
    "worksteal_maintenance_seconds",
    "One maintenance pass of the leader, stuck running tasks' repair included",
    ROUND_BUCKETS,
  );
  private readonly awaited: AwaitedSteal[] = [];
  /** The first MAX_TASK_TYPES types seen, each under its own label. */
  private readonly typeFigures = new Map<string, TypeFigures>();
  private otherTypesFigures?: TypeFigures;

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []): Histogram<L> {
    return new Histogram({ name, help, buckets, labelNames, registers: [this.registry] });
  }

  /**
   * The per-type children of the per-task figures, made once per type: prom-client hashes a
   * call's labels each time, several times per task at the fold's rate. Types past the first
   * MAX_TASK_TYPES share one label (the fold caps its own figures alike).
   */
  private figuresOfType(type: string): TypeFigures {
    let figures = this.typeFigures.get(type);
    if (figures) return figures;
    if (this.typeFigures.size >= MAX_TASK_TYPES) return (this.otherTypesFigures ??= this.childrenFor(OTHER_TYPES));
    figures = this.childrenFor(type);
    this.typeFigures.set(type, figures);
    return figures;
  }

  private childrenFor(label: string): TypeFigures {
    return {
      done: this.tasksDone.labels(label),
      failed: this.tasksFailed.labels(label),
      completedRun: this.taskRun.labels(label, "completed"),
      failedRun: this.taskRun.labels(label, "failed"),
    };
  }

  /**
   * A batch this replica folded. `figures` are what its valid entries tell (taskFiguresOf, or
   * the fast path's reply); `invalid` how many it sent to the dead-letter stream for failing
   * validation. Per-event figures are observed only when the
   * result shows that this fold applied every valid event: when another replica folded part of
   * the batch, or the fold script refused some of it, which events took effect is unknown, and
   * observing them could count an event twice across replicas.
   */
  folded(figures: FoldedTaskFigures, invalid: number, result: FoldResult): void {
    this.eventsFolded.inc(result.applied);
    this.eventsDeadLettered.inc(result.deadLettered);
    if (result.alreadyFolded > 0 || result.deadLettered !== invalid) return;
    for (const [type, durationMs] of figures.completed) {
      const ofType = this.figuresOfType(type);
      ofType.done.inc();
      ofType.completedRun.observe(durationMs / 1000);
    }
    for (const [type, final, durationMs] of figures.failed) {
      const ofType = this.figuresOfType(type);
      if (final) ofType.failed.inc();
      if (durationMs !== undefined) ofType.failedRun.observe(durationMs / 1000);
    }
    for (const waitMs of figures.waitsMs) this.taskWait.observe(waitMs / 1000);
  }

  /** A leader round that took `seconds`. */
  leaderRoundTook(seconds: number): void {
    this.leaderRound.observe(seconds);
  }

  /** A phase of a leader round that took `seconds`. */
  planPhaseTook(phase: "fleet" | "snapshot" | "plan" | "write", seconds: number): void {
    this.planPhase.observe({ phase }, seconds);
  }

  /** A maintenance pass that took `seconds`. */
  maintenanceTook(seconds: number): void {
    this.maintenancePass.observe(seconds);
  }

  planned(kind: "steal" | "evacuate", count: number): void {
    if (count > 0) this.directivesPlanned.inc({ kind }, count);
  }

  plannedMalformed(count: number): void {
    this.directivesMalformed.inc(count);
  }

  reassigned(toAgent: number, unassigned: number): void {
    if (toAgent > 0) this.tasksReassigned.inc({ to: "agent" }, toAgent);
    if (unassigned > 0) this.tasksReassigned.inc({ to: "unassigned" }, unassigned);
  }

  /** A directive this replica executed (`directive` undefined when it was malformed). */
  executed(directive: Directive | undefined, outcome: StealOutcome): void {
    this.directivesExecuted.inc({ status: outcome.status });
    if (outcome.shortfall !== undefined) this.directivesRejected.inc({ reason: outcome.shortfall });
    this.tasksMoved.inc(outcome.taskIds.length);
    if (directive === undefined || outcome.taskIds.length === 0) return;
    if (this.awaited.length >= STEALS_AWAITED) this.awaited.shift();
    this.awaited.push({ createdAt: directive.createdAt, taskIds: outcome.taskIds.slice(0, TASKS_WATCHED_PER_STEAL) });
  }

  /**
   * Observes the steal latency of executed directives one of whose tasks has started since, in
   * one round trip (the tasks' start times, Redis clock, as is a directive's planning time).
   * A task that started before the directive was planned ran on its source: it does not count.
   */
  async observeStealLatencies(store: Store): Promise<void> {
    if (this.awaited.length === 0) return;
    const watched = this.awaited.splice(0);
    let times: Awaited<ReturnType<typeof readTaskTimes>>;
    let now: number;
    try {
      times = await readTaskTimes(
        store,
        watched.flatMap((s) => s.taskIds),
      );
      now = await store.now();
    } catch (error) {
      // Awaited again at the next check, oldest first, within the bound.
      this.awaited.unshift(...watched);
      this.awaited.splice(0, Math.max(0, this.awaited.length - STEALS_AWAITED));
      throw error;
    }
    let offset = 0;
    const kept: typeof watched = [];
    for (const steal of watched) {
      const starts = times
        .slice(offset, offset + steal.taskIds.length)
        .flatMap((t) => (t?.startedAt !== undefined && t.startedAt >= steal.createdAt ? [t.startedAt] : []));
      offset += steal.taskIds.length;
      if (starts.length > 0) this.stealLatency.observe((Math.min(...starts) - steal.createdAt) / 1000);
      else if (now - steal.createdAt < STEAL_WATCH_MS) kept.push(steal);
    }
    // Before those executed meanwhile, oldest first, within the bound (the oldest go first).
    this.awaited.unshift(...kept);
    this.awaited.splice(0, Math.max(0, this.awaited.length - STEALS_AWAITED));
  }
}
