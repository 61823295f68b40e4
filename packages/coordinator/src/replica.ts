import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type Queue, Worker } from "bullmq";
import { pino, type Logger } from "pino";
import { loadConfig, redisTargetOf } from "@worksteal/config";
import { needsTail } from "@worksteal/planner";
import { type Config, type ConfigInput, DIRECTIVE_QUEUE, type Directive } from "@worksteal/protocol";
import {
  AgentQueues,
  areRegistered,
  closeRedis,
  createRedis,
  errorSummary,
  forgetReplica,
  isConnectionError,
  LegacyFoldPendingError,
  maskRedisUrl,
  openDirectiveQueue,
  publishReplicaRole,
  type RedisConnection,
  Store,
  writeReplicaHeartbeat,
} from "@worksteal/store";
import { AgentDirectory } from "./agent-directory.js";
import { DirectiveExecutor, type StealOutcome } from "./executor.js";
import { readFleetThrough } from "./fleet-view.js";
import { isIdle } from "./snapshot.js";
import { type StealHint, StealTrigger } from "./steal-trigger.js";
import { EventFolder, foldTimingOf } from "./event-folder.js";
import { Leadership } from "./leadership.js";
import { Maintenance, type MaintenanceResult } from "./maintenance.js";
import { ReplicaMetrics } from "./metrics.js";
import { Placer } from "./placement.js";
import { DirectivePlanner, type RoundFleet } from "./directive-planner.js";
import { Reaper } from "./reaper.js";

export interface ReplicaOptions {
  /** Unique per live process: the registry, the leader lease and the fold lease name replicas by it. */
  id?: string;
  /** Compete for the leader lease (default true). A replica that never leads still folds and executes. */
  lead?: boolean;
  /** Told of every directive this replica executed. */
  onSteal?: (directive: Directive, outcome: StealOutcome) => void;
  config?: ConfigInput;
  logger?: Logger;
}

/** How long a wait for leadership or a steal hint lasts at most, so that stopping is never slower than this. */
const WAIT_MS = 500;
/** Directives one replica executes at once. */
const EXECUTOR_CONCURRENCY = 2;
/** BullMQ lock of a directive being executed (a directive takes milliseconds). */
const DIRECTIVE_LOCK_MS = 5000;
/** How often the start of executed directives' tasks is looked for, to observe steal latency. */
const STEAL_LATENCY_CHECK_MS = 250;
/**
 * Rounds an event asks for start at least this far apart: a storm of finishes costs a round
 * every so often, not one per event; one asked for meanwhile runs when the gap is over.
 */
const TRIGGERED_ROUND_GAP_MS = 25;
/**
 * Rounds that follow an event-asked round which planned nothing while an agent was idle and
 * another held a backlog: a submit's events come just before its jobs reach the queue, so the
 * first look at the victim's tail may find it not yet filled.
 */
const TRIGGERED_ROUND_RETRIES = 4;
/** Queue objects of agents not touched for this long are closed (see AgentQueues.forgetIdle). */
const QUEUE_IDLE_MS = 60_000;

/** The fold loop's latest read, for readiness. */
export interface FoldLoopState {
  /** When the latest read returned (monotonic clock, ms); undefined before the first. */
  lastReadAt: number | undefined;
}

/**
 * One coordinator replica. Every replica executes directives and folds events while it holds the
 * fold lease (one at a time; another takes over when the folder dies). The one holding the
 * leader lease also plans steals and places tasks that waited for a capable agent.
 */
export class Replica {
  readonly id: string;
  readonly config: Config;
  readonly store: Store;
  /** What this replica did, for /metrics. */
  readonly metrics = new ReplicaMetrics();
  private readonly foldLoopState: FoldLoopState = { lastReadAt: undefined };
  private readonly log: Logger;
  private readonly redis: RedisConnection;
  private readonly blocking: RedisConnection;
  private readonly executorRedis: RedisConnection;
  /** The leader's own read of the event stream, for rounds that events ask for. */
  private readonly triggerRedis: RedisConnection;
  private readonly stealTrigger: StealTrigger;
  /** Whether the latest leader round saw an idle agent, and an agent with tasks to give. */
  private fleetShape: { idle: boolean; backlog: boolean } | undefined;
  /** Whether events since the latest round's read queued a task somewhere: a backlog it did not see may exist. */
  private queuedSinceRound = false;
  private leaderRoundStartedAt = 0;
  /** A round asked for by events while one ran or too soon after one: it runs next. */
  private roundRequested: NodeJS.Timeout | "after-round" | undefined;
  private triggerLoop?: Promise<void>;
  /** Ends the trigger loop's wait: set while it waits, called when leadership or running changes and when a round has planned. */
  private wakeTrigger: (() => void) | undefined;
  /**
   * The newest event the fleet read of the latest round that planned had seen: the steal trigger
   * need not read the events up to it, the round planned from what they did.
   */
  private plannedThrough = "";
  /** Rounds left to look again after an event-asked round that planned nothing (TRIGGERED_ROUND_RETRIES). */
  private triggeredRetriesLeft = 0;
  private readonly queues: AgentQueues;
  /** The leader's picture of the agents, brought up to date at each leader round. */
  private readonly directory: AgentDirectory;
  private readonly eventFolder: EventFolder;
  private readonly directives: Queue<Directive>;
  private readonly directivePlanner: DirectivePlanner;
  private readonly executor: DirectiveExecutor;
  private readonly reaper: Reaper;
  private readonly placer: Placer;
  private readonly maintenance: Maintenance;
  private readonly leadership?: Leadership;
  private executorWorker?: Worker<Directive>;
  private running = false;
  private leaderRoundBusy = false;
  /** Resolves when the leader round in progress ends (see beginLeaderRound). */
  private leaderRoundEnded: Promise<void> = Promise.resolve();
  /** checkAndSteal calls waiting for the guard: a round that events asked for meanwhile runs after them. */
  private checkAndStealWaiting = 0;
  /** Whether the guard is held by a checkAndSteal call (which plans only: no reaping, no placement). */
  private checkAndStealHolds = false;
  /** When this replica's current leadership began (monotonic clock). */
  private leaderSince = 0;
  private foldLoop?: Promise<void>;
  private stopping?: Promise<void>;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(options: ReplicaOptions = {}) {
    this.config = loadConfig({ overrides: options.config });
    const redisTarget = redisTargetOf(this.config);
    this.id = options.id ?? `replica-${randomBytes(4).toString("hex")}`;
    this.log = (options.logger ?? pino({ name: "worksteal-coordinator", level: this.config.logLevel })).child({ replica: this.id });
    // The command connection reports Redis's state for all three: they go to the same server.
    this.redis = createRedis(redisTarget, { connectionName: `coordinator:${this.id}`, log: this.log.child({ namespace: this.config.namespace }) });
    this.blocking = createRedis(redisTarget, { role: "blocking", connectionName: `coordinator-fold:${this.id}` });
    this.executorRedis = createRedis(redisTarget, { role: "blocking", connectionName: `coordinator-exec:${this.id}` });
    this.triggerRedis = createRedis(redisTarget, { role: "blocking", connectionName: `coordinator-trigger:${this.id}` });
    this.store = new Store(this.redis, this.config.namespace, { agentTtlMs: this.config.agentTtlMs });
    this.queues = new AgentQueues(this.redis, this.store.keys, this.log);
    this.directory = new AgentDirectory(this.store, this.config.agentTtlMs);
    this.stealTrigger = new StealTrigger(this.store, this.triggerRedis);
    this.eventFolder = new EventFolder(
      this.store,
      this.blocking,
      { replicaId: this.id, batchSize: this.config.foldBatchSize, leaseMs: this.config.foldLeaseMs, metrics: this.metrics },
      this.log,
    );
    this.directives = openDirectiveQueue(this.store);
    // Unhandled, BullMQ would print each error with a stack. Connection errors surface in the
    // calls that fail and in the connection's own log lines.
    this.directives.on("error", (error) => {
      if (!isConnectionError(error)) this.log.warn({ error: errorSummary(error) }, "directive queue error");
    });
    this.directivePlanner = new DirectivePlanner(this.store, this.directory, this.directives, this.config, this.log, this.metrics);
    this.executor = new DirectiveExecutor(
      this.store,
      this.queues,
      {
        maxDirectiveAgeMs: this.config.stealInterval * 5 + 5000,
        retentionMs: this.config.retentionMs,
        metrics: this.metrics,
        ...(options.onSteal ? { onExecuted: options.onSteal } : {}),
      },
      this.log,
    );
    this.maintenance = new Maintenance(this.store, this.queues, this.directory, this.config, this.log);
    this.placer = new Placer(this.store, this.queues, this.directory, this.log);
    this.reaper = new Reaper(this.store, this.queues, this.directory, this.directives, this.config, this.log, this.metrics);
    if (options.lead ?? true) {
      this.leadership = new Leadership(
        this.store,
        { replicaId: this.id, token: randomBytes(8).toString("hex"), leaseTtlMs: this.config.leaseTtlMs },
        this.log,
        (fence) => this.onLeadershipChange(fence),
      );
    }
  }

  /** Whether this replica's command connection to Redis is up. */
  get redisReady(): boolean {
    return this.redis.status === "ready";
  }

  /** The fold loop's latest read; a stopped replica's stays as it was. */
  get foldLoopStatus(): Readonly<FoldLoopState> & { running: boolean } {
    return { ...this.foldLoopState, running: this.running };
  }

  /** The fence this replica leads with, or undefined when it does not lead now. */
  get leaderFence(): number | undefined {
    return this.leadership?.current();
  }

  /**
   * Joins the replica set. Rejects when Redis cannot be reached (after ioredis' retries) or when
   * stop() is called meanwhile; either way stop() then closes whatever was opened.
   */
  async start(): Promise<void> {
    this.log.info({ redis: maskRedisUrl(this.config.redisUrl), namespace: this.config.namespace }, "replica starting");
    // Old coordinators still folding through their consumer group: this replica starts anyway,
    // and its fold loop waits for them to stop (see runFoldLoop).
    await this.eventFolder.ensureCursor().catch((error: unknown) => {
      if (!(error instanceof LegacyFoldPendingError)) throw error;
    });
    this.throwIfStopped();
    this.running = true;
    await this.publishRole(undefined);
    // Nothing below may outlive a stop() that ran during an await: it would never be closed.
    this.throwIfStopped();
    this.foldLoop = this.runFoldLoop();
    if (this.leadership) this.triggerLoop = this.runTriggerLoop();
    this.every(this.config.heartbeatIntervalMs, "heartbeat", () => this.heartbeat());
    this.every(STEAL_LATENCY_CHECK_MS, "steal latency", () => this.metrics.observeStealLatencies(this.store));
    this.every(this.config.stealInterval, "lead", () => this.leaderRound());
    this.every(this.config.maintenanceIntervalMs, "maintain", async () => {
      await this.forgetRemovedQueues();
      await this.queues.forgetIdle(QUEUE_IDLE_MS);
      const fence = this.leaderFence;
      if (fence === undefined) return;
      const started = performance.now();
      // The repair of stuck running tasks must not wait on housekeeping that failed.
      try {
        await this.maintenance.run();
      } finally {
        await this.reaper.repairStuckRunning(fence, this.maintenance.lastShare);
        this.metrics.maintenanceTook((performance.now() - started) / 1000);
      }
    });
    this.executorWorker = new Worker<Directive>(DIRECTIVE_QUEUE, (job) => this.executor.execute(job.data), {
      connection: this.executorRedis,
      prefix: this.store.keys.bullPrefix,
      concurrency: EXECUTOR_CONCURRENCY,
      // A replica that dies mid-directive leaves it active; another retries it this soon.
      lockDuration: DIRECTIVE_LOCK_MS,
      stalledInterval: DIRECTIVE_LOCK_MS,
    });
    // A lost connection is reported once by the command connection, not at each of the worker's retries.
    this.executorWorker.on("error", (error) => {
      if (!isConnectionError(error)) this.log.warn({ error: errorSummary(error) }, "directive worker error");
    });
    await this.heartbeat();
    this.throwIfStopped();
    await this.leadership?.start();
    this.log.info({ namespace: this.config.namespace, fence: this.leaderFence }, "replica started");
  }

  private throwIfStopped(): void {
    if (this.stopping) throw new Error(`replica ${this.id} was stopped while starting`);
  }

  /**
   * Stops every loop and closes every connection, whatever state start() reached (also after
   * it failed); calling it again waits for the same stop. A leader releases its lease first, so
   * that another replica takes over at once, and gives the fold lease up likewise (what it read
   * but did not fold is folded by the next holder: the cursor did not move past it).
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.running = false;
    this.wakeTrigger?.();
    const connections = [this.redis, this.blocking, this.executorRedis, this.triggerRedis];
    // With Redis away, each call below would wait out ioredis' retries (half a minute) and BullMQ
    // would wait for reads that never return: the connections are ended first, so they fail now.
    const away = this.redis.status !== "ready";
    const ending = away ? Promise.all(connections.map((r) => closeRedis(r))) : undefined;
    await this.leadership?.stop();
    for (const timer of this.timers) clearInterval(timer);
    await this.foldLoop;
    // Given up as soon as this replica stops folding, so that another takes the fold over at once
    // rather than after the executor and the directive queue close.
    if (!away) {
      await this.eventFolder.release().catch((error: unknown) => {
        if (!isConnectionError(error)) this.log.warn({ error: errorSummary(error) }, "could not give the fold lease up");
      });
    }
    await this.triggerLoop;
    if (this.roundRequested !== undefined && this.roundRequested !== "after-round") clearTimeout(this.roundRequested);
    // Forced while Redis is away: the directive it runs cannot finish without it anyway.
    await this.executorWorker?.close(away);
    await this.directives.close();
    if (!away) {
      // Redis lost meanwhile: the leader's maintenance forgets this replica once its heartbeat is old.
      await forgetReplica(this.store, this.id).catch((error: unknown) => {
        if (!isConnectionError(error)) this.log.warn({ error: errorSummary(error) }, "could not leave the replica registry");
      });
    }
    await this.queues.close();
    await ending;
    await Promise.all(connections.map((r) => closeRedis(r)));
    this.log.info("replica stopped");
  }

  /**
   * One planning round now, after the leader round in progress (if any); a follower plans nothing.
   * Returns the directives queued. It takes the guard leader rounds take, and only then reads the
   * fleet: beside a round, both planned the same tasks (the move script refused the second move),
   * and a fleet read before waiting would be older than the directives that round queued.
   */
  async checkAndSteal(): Promise<Directive[]> {
    if (this.leaderFence === undefined || !this.config.enabled) return [];
    this.checkAndStealWaiting += 1;
    try {
      while (this.leaderRoundBusy) await this.leaderRoundEnded;
    } finally {
      this.checkAndStealWaiting -= 1;
    }
    const endRound = this.beginLeaderRound();
    this.checkAndStealHolds = true;
    try {
      // Asked again: leadership may have been lost while this call waited.
      const fence = this.leaderFence;
      if (fence === undefined) return [];
      const fleet = await this.readFleetForRound(performance.now());
      const { directives, unsettled } = await this.directivePlanner.planOnce(fence, () => this.leaderFence === fence, fleet);
      this.planned(fleet);
      // Tasks moved during every snapshot it read, so it planned nothing: a round looks again.
      if (unsettled) this.requestLeaderRound();
      return directives;
    } finally {
      this.checkAndStealHolds = false;
      endRound();
    }
  }

  /** The leader's maintenance now; a follower does nothing and gets undefined. */
  async performMaintenance(): Promise<MaintenanceResult | undefined> {
    return this.leaderFence === undefined ? undefined : this.maintenance.run();
  }

  /** What only the leader does, each round: reap dead and draining agents, plan steals, place waiting tasks. */
  private async leaderRound(): Promise<void> {
    const fence = this.leaderFence;
    if (fence === undefined) return;
    // One round at a time: the round a new leader runs at once may overlap its first tick. A round
    // running already reaps, plans and places, so the tick is dropped; a checkAndSteal holding the
    // guard only plans, so the tick's round runs after it (asking always would chain rounds back
    // to back whenever one lasts a stealInterval).
    if (this.leaderRoundBusy) {
      if (this.checkAndStealHolds) this.requestLeaderRound();
      return;
    }
    const endRound = this.beginLeaderRound();
    const started = performance.now();
    this.leaderRoundStartedAt = started;
    try {
      // One read of the fleet for the whole round: the directory's changes and every agent's exact counts.
      const fleet = await this.readFleetForRound(started);
      const { agents } = fleet;
      // Each step on its own: one that fails (a bad record, a planner bug) must not stop the others every round.
      const steps = [
        () => this.reaper.reap(fence, performance.now() - this.leaderSince >= this.config.agentTtlMs, agents),
        async () => {
          if (!this.config.enabled) return;
          const { directives, unsettled } = await this.directivePlanner.planOnce(fence, () => this.leaderFence === fence, fleet);
          this.planned(fleet);
          // Also when tasks moved during every snapshot it read: it planned nothing, and the next may.
          const worthAnotherLook = unsettled || (directives.length === 0 && this.fleetShape?.idle === true && this.fleetShape.backlog);
          this.triggeredRetriesLeft = worthAnotherLook ? this.triggeredRetriesLeft - 1 : 0;
          if (worthAnotherLook && this.triggeredRetriesLeft >= 0) this.requestLeaderRound();
        },
        () => this.placer.place(agents),
      ];
      const failures: unknown[] = [];
      for (const step of steps) await Promise.resolve(step()).catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw failures[0];
    } finally {
      this.metrics.leaderRoundTook((performance.now() - started) / 1000);
      endRound();
    }
  }

  /**
   * Takes the guard of rounds that plan, one at a time (leader rounds and checkAndSteal), so that
   * each reads the fleet after the one before it queued its directives. Returns its release,
   * which also runs the round that events asked for meanwhile, unless a checkAndSteal call waits:
   * it goes first (else a stream of events could keep it waiting), and its release runs that round.
   */
  private beginLeaderRound(): () => void {
    this.leaderRoundBusy = true;
    let ended!: () => void;
    this.leaderRoundEnded = new Promise((resolve) => (ended = resolve));
    return () => {
      this.leaderRoundBusy = false;
      ended();
      if (this.roundRequested === "after-round" && this.checkAndStealWaiting === 0) {
        this.roundRequested = undefined;
        this.requestLeaderRound();
      }
    };
  }

  /**
   * The fleet as a round that holds the guard reads it, with the move count read before it (the
   * planner reads the fleet again if a task moved since) and what the trigger loop judges events by.
   */
  private async readFleetForRound(started: number): Promise<RoundFleet & { eventsReadThrough: string }> {
    this.queuedSinceRound = false;
    const movesBefore = await this.store.readMoveCount();
    const { agents, eventsReadThrough } = await readFleetThrough(this.store, this.directory);
    this.metrics.planPhaseTook("fleet", (performance.now() - started) / 1000);
    this.fleetShape = { idle: agents.some(isIdle), backlog: agents.some((a) => needsTail(a, this.config)) };
    return { agents, movesBefore, eventsReadThrough };
  }

  /** A round planned from `fleet`: the steal trigger waiting for it reads on after what that read saw. */
  private planned(fleet: { eventsReadThrough: string }): void {
    this.plannedThrough = fleet.eventsReadThrough;
    this.wakeTrigger?.();
  }

  /**
   * Reads the event stream while leading and asks for a round when an event may have made a
   * steal worth planning: a slot freed while the latest round saw a backlog, or a task queued
   * while it saw an idle agent (or no round has run yet).
   */
  private async runTriggerLoop(): Promise<void> {
    /** The directory's clock when this replica was last seen not leading. */
    let notLeadingAt = 0;
    while (this.running) {
      try {
        if (this.leaderFence === undefined || !this.config.enabled) {
          this.stealTrigger.reset();
          notLeadingAt = this.directory.now;
          // Woken as soon as this replica leads: a first burst must not wait out the rest of a timer.
          await this.waitForWake(WAIT_MS);
          continue;
        }
        if (!this.stealTrigger.started) {
          // From this leadership's first read of the fleet on: what came before it, that read saw.
          if (this.directory.now <= notLeadingAt) {
            await new Promise((r) => setTimeout(r, TRIGGERED_ROUND_GAP_MS));
            continue;
          }
          this.stealTrigger.startAt(this.directory.now);
        }
        // What a round planned from, the events need not say again.
        this.stealTrigger.skipTo(this.plannedThrough);
        const hint = await this.stealTrigger.next(WAIT_MS);
        // Counts an earlier agent changed carry no stamp: the next round reads every load.
        if (hint?.countsUnstamped) this.directory.forgetLoads();
        if (hint && this.worthARound(hint)) {
          this.triggeredRetriesLeft = TRIGGERED_ROUND_RETRIES;
          this.requestLeaderRound();
          // The events that come until the round asked for reads the fleet are in what it plans
          // from: rather than read each of them (one or more per task), wait for a round to plan and
          // read on after what its fleet read saw. A round that fails plans nothing, and reading
          // goes on where it was.
          await this.waitForWake(WAIT_MS);
        }
      } catch (error) {
        if (!this.running) break;
        if (!isConnectionError(error)) this.log.warn({ error: errorSummary(error) }, "steal trigger read failed; retrying");
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** Resolves when leadership changes, a round has planned or the replica stops, or after `ms` at the latest. */
  private waitForWake(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeTrigger = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeTrigger = done;
    });
  }

  private worthARound(hint: StealHint): boolean {
    const shape = this.fleetShape;
    if (hint.taskQueued) this.queuedSinceRound = true;
    return shape === undefined || (hint.slotFreed && (shape.backlog || this.queuedSinceRound)) || (hint.taskQueued && shape.idle);
  }

  /** A leader round now, or as soon as the one running ends and TRIGGERED_ROUND_GAP_MS has passed since it began. */
  private requestLeaderRound(): void {
    if (this.roundRequested !== undefined || !this.running) return;
    if (this.leaderRoundBusy) {
      this.roundRequested = "after-round";
      return;
    }
    const wait = this.leaderRoundStartedAt + TRIGGERED_ROUND_GAP_MS - performance.now();
    const run = () => {
      // The timer's round may have begun meanwhile, before the events were written: one more after it.
      this.roundRequested = this.leaderRoundBusy ? "after-round" : undefined;
      if (this.leaderRoundBusy) return;
      this.leaderRound().catch((error: unknown) => {
        if (!isConnectionError(error)) this.log.warn({ error: errorSummary(error) }, "leader round asked for by events failed");
      });
    };
    if (wait <= 0) run();
    else this.roundRequested = setTimeout(run, wait);
  }

  private onLeadershipChange(fence: number | undefined): void {
    void this.publishRole(fence).catch((error) => this.log.warn({ error: errorSummary(error) }, "could not publish role"));
    this.wakeTrigger?.();
    if (fence !== undefined) this.leaderSince = performance.now();
    // A new leader plans at once rather than at its next tick: failover is as short as the lease allows.
    if (fence !== undefined && this.running) {
      this.leaderRound().catch((error) => this.log.warn({ error: errorSummary(error) }, "first leader round failed"));
    }
  }

  private publishRole(fence: number | undefined): Promise<void> {
    return publishReplicaRole(this.store, this.id, fence);
  }

  private async runFoldLoop(): Promise<void> {
    const { blockMs, coalesceMs } = foldTimingOf(this.config.foldLeaseMs);
    let toldOfLegacyFold = false;
    while (this.running) {
      try {
        const read = await this.eventFolder.foldNew(blockMs);
        this.foldLoopState.lastReadAt = performance.now();
        if (read < this.config.foldBatchSize / 2) await new Promise((r) => setTimeout(r, coalesceMs));
      } catch (error) {
        if (!this.running) break;
        if (error instanceof LegacyFoldPendingError) {
          // Said once, not every retry: it lasts as long as the old coordinators run.
          if (!toldOfLegacyFold) this.log.warn({ error: errorSummary(error) }, "not folding until the old coordinators stop; retrying");
          toldOfLegacyFold = true;
        } else if (!isConnectionError(error)) this.log.warn({ error: errorSummary(error) }, "fold failed; retrying");
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** The role goes with each heartbeat too: a replica forgotten while paused reappears whole. */
  private async heartbeat(): Promise<void> {
    await writeReplicaHeartbeat(this.store, this.id, await this.store.now(), this.leaderFence);
  }

  /** Every replica closes its queue objects of agents removed by the leader, so that churn does not pile them up. */
  private async forgetRemovedQueues(): Promise<void> {
    const open = this.queues.openIds();
    if (open.length === 0) return;
    const known = await areRegistered(this.store, open);
    await Promise.all(open.flatMap((id, i) => (known[i] ? [] : [this.queues.forget(id)])));
  }

  /** Runs `task` every `ms`, never two at once, logging failures instead of crashing. */
  private every(ms: number, name: string, task: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || !this.running) return;
      busy = true;
      task()
        .catch((error) => {
          // A lost connection is reported once by the connection itself, not by every loop.
          if (!isConnectionError(error)) this.log.warn({ error: errorSummary(error), loop: name }, "loop iteration failed");
        })
        .finally(() => {
          busy = false;
        });
    }, ms);
    this.timers.push(timer);
  }
}
