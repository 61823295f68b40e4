import type { PlannerConfig } from "../types.js";

/** A simulated agent. `speed` divides every task's duration on it (2 runs a 100 ms task in 50 ms). */
export interface SimAgent {
  id: string;
  slots: number;
  speed?: number | undefined;
  capabilities?: readonly string[] | undefined;
  /** What each task costs it beyond its duration, as a real agent pays it (none by default). */
  costs?: TaskCosts | undefined;
}

/** A simulated task: `durationMs` is its run time at speed 1. Without `target` it is placed as the coordinator places it. */
export interface SimTask {
  id: string;
  type: string;
  requiredCapabilities: readonly string[];
  durationMs: number;
  arrivesAt: number;
  target?: string | undefined;
  estimatedDurationMs?: number | undefined;
}

/**
 * How work finds a slot: each agent's own queue and no stealing; the real planner (`planSteals`)
 * with a strategy and config; one shared queue every free slot pulls from, oldest first (ideal
 * pull); or `lpt`, the offline baseline that knows every duration: a free slot takes the longest
 * task that has arrived and that it can run, the fastest free agent first (longest processing
 * time first; for a burst, Graham's LPT list schedule).
 */
export type SimPolicy =
  | { kind: "none" }
  | { kind: "shared" }
  | { kind: "lpt" }
  | {
      kind: "steal";
      config: PlannerConfig;
      stealIntervalMs: number;
      eventLagMs?: number | undefined;
      /** The first event round's lag instead of eventLagMs (a leader flooded by a burst's events reacts later; default eventLagMs). */
      firstEventLagMs?: number | undefined;
      moveCostMs?: number | undefined;
      /**
       * Also plan eventLagMs after an event that may call for a steal — an agent went idle (a slot
       * freed and nothing waits for it), or a task was queued behind busy slots — as a leader that
       * reacts to events does (issue 11), not only every stealIntervalMs.
       */
      eventRounds?: boolean | undefined;
      /**
       * Plan only while some agent is idle (nothing queued, a slot free) and another holds a task
       * waiting for a slot, as the leader does (coordinator/src/snapshot.ts): a fleet where every
       * agent is busy is left alone, however uneven its backlogs.
       */
      idleGate?: boolean | undefined;
      /**
       * Agents' workloads carry the sum of their run times' squares (Workload.durationSqSum), as
       * the leader reads them since they are folded, so the planner weighs how widely durations
       * spread. Off by default: the schedules pinned in the tests predate them.
       */
      secondMoments?: boolean | undefined;
    };

export interface TaskOutcome {
  id: string;
  /** The agent it ran on. */
  agent: string;
  /** The agent it was first queued on ("" in the shared queue). */
  placedOn: string;
  arrivesAt: number;
  startedAt: number;
  finishedAt: number;
  moves: number;
}

export interface SimResult {
  /** When the last task finished (time starts at 0). */
  makespanMs: number;
  /** Per task, in input order. */
  tasks: TaskOutcome[];
  /** Tasks moved, counting a task once per move. */
  moves: number;
  directives: number;
  rounds: number;
  /** Only when sampled (SimOptions.sampleEveryMs). */
  backlog?: BacklogSample[];
}

export interface SimOptions {
  /** Record every agent's backlog this often (simulated ms), from 0 until the last task finishes. */
  sampleEveryMs?: number | undefined;
}

/**
 * Per-task costs of a real agent that the duration does not include, measured from a real run
 * (calibrate.ts). The slot is held throughout: `claimMs` from the moment the task could take a
 * free slot (the slot freed, or the task reached an agent with one free) until it starts (the
 * worker fetches the job, the claim script marks it running); `finishMs` from the end of its
 * duration until its finish is recorded and the slot is free again.
 */
export interface TaskCosts {
  claimMs: number;
  finishMs: number;
}

/** Tasks held per agent (queued + running), in agent order, and waiting in the shared queue, at one instant. */
export interface BacklogSample {
  at: number;
  held: number[];
  shared: number;
}
