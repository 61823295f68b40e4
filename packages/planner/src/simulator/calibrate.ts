import type { SimAgent, SimTask, TaskCosts } from "./model.js";

/** A task of a real run, as its record ends (times on one clock, ms). */
export interface RecordedTask {
  id: string;
  /** Where it was first queued, and where it ran. */
  placedOn: string;
  agent: string;
  createdAt: number;
  /** When it reached the agent it ran on: its creation, or the end of the steal that brought it there. */
  readyAt: number;
  startedAt: number;
  finishedAt: number;
}

/** A directive of a real run: when the leader planned it, the tasks it moved, and when they were queued on the target (the executor's record). */
export interface RecordedSteal {
  /** The planning round it came from (directives of one round are queued together). */
  round: string;
  /** When the leader planned it (the directive's createdAt). */
  plannedAt: number;
  source: string;
  target: string;
  taskIds: readonly string[];
  finishedAt: number;
}

/**
 * What a real run paid that the simulator's tasks and planning rounds do not, measured from the
 * run itself, so that the simulated run of the same workload pays it too.
 */
export interface Calibration {
  /** Per agent id, the mean costs of the tasks it ran (the run's mean for one that ran none). */
  costsByAgent: ReadonlyMap<string, TaskCosts>;
  /** The mean over all tasks. */
  costs: TaskCosts;
  /** Per task id: when it was created, in ms after the first task was (submitting a burst takes time). */
  arrivalsMs: ReadonlyMap<string, number>;
  /**
   * From the first moment the leader's gate opened (an agent idle while another holds a task
   * waiting for a slot: for a burst, as it is submitted) to the first round that planned a
   * directive: folding the burst's events, reading the snapshot, planning. Undefined when no
   * directive followed.
   */
  firstEventLagMs: number | undefined;
  /** The same, as a median over the later openings a round planned a directive in before the gate opened again. Undefined without any. */
  eventLagMs: number | undefined;
  /**
   * A directive's share of its round's execution: over all rounds, the time from planning to the
   * last directive's tasks being queued on its target, over the directives (the simulator executes
   * a round's directives one after the other). Undefined without steals.
   */
  moveCostMs: number | undefined;
}

/**
 * Measures a recorded run against the durations it was given (`tasks`: the simulator's tasks, at
 * speed 1; an agent's speed divides them). Claim: per agent, slots are handed out in start order,
 * each start taking the slot that freed first, and the claim is the time from when both that slot
 * was free and the task was on the agent to its start. Finish: the time a run took beyond its
 * duration. Both are means per agent (each agent is its own process, with its own slots and its
 * own share of the machine): every task pays them, so their sum is what the makespan pays.
 */
export function calibrate(
  agents: readonly SimAgent[],
  tasks: readonly SimTask[],
  run: { tasks: readonly RecordedTask[]; steals: readonly RecordedSteal[] },
): Calibration {
  const durations = new Map(tasks.map((t) => [t.id, t.durationMs]));
  const byAgent = new Map(agents.map((a) => [a.id, a]));
  if (run.tasks.length === 0) throw new Error("a recorded run without tasks measures nothing");
  for (const task of run.tasks) {
    if (!durations.has(task.id) || !byAgent.has(task.agent)) throw new Error(`recorded task ${task.id} on ${task.agent} is not in the workload`);
  }
  const sums = agents.map((agent) => {
    const ran = run.tasks.filter((t) => t.agent === agent.id).sort((a, b) => a.startedAt - b.startedAt);
    // Free times of the agent's slots, earliest first: -Infinity until a slot ran a task.
    const freeAt: number[] = Array.from({ length: agent.slots }, () => -Infinity);
    let claimMs = 0;
    let finishMs = 0;
    for (const task of ran) {
      const slotFree = freeAt.shift()!;
      claimMs += Math.max(0, task.startedAt - Math.max(slotFree, task.readyAt));
      finishMs += Math.max(0, task.finishedAt - task.startedAt - durations.get(task.id)! / (agent.speed ?? 1));
      insertSorted(freeAt, task.finishedAt);
    }
    return { id: agent.id, tasks: ran.length, claimMs, finishMs };
  });
  const total = run.tasks.length;
  const costs = { claimMs: sums.reduce((s, a) => s + a.claimMs, 0) / total, finishMs: sums.reduce((s, a) => s + a.finishMs, 0) / total };
  const costsByAgent = new Map(sums.map((a) => [a.id, a.tasks > 0 ? { claimMs: a.claimMs / a.tasks, finishMs: a.finishMs / a.tasks } : costs]));
  const first = run.tasks.reduce((min, t) => Math.min(min, t.createdAt), Infinity);
  const lags = gateOpenings(agents, run).map((opened, i, all) => {
    const next = all[i + 1] ?? Infinity;
    const planned = run.steals.filter((s) => s.plannedAt >= opened && s.plannedAt < next).map((s) => s.plannedAt);
    // A loop, not a spread: a recording of 100k+ steals would overflow the call's arguments.
    return planned.length > 0 ? planned.reduce((min, at) => Math.min(min, at), Infinity) - opened : undefined;
  });
  const rounds = new Map<string, { plannedAt: number; finishedAt: number; directives: number }>();
  for (const steal of run.steals) {
    const round = rounds.get(steal.round);
    if (!round) rounds.set(steal.round, { plannedAt: steal.plannedAt, finishedAt: steal.finishedAt, directives: 1 });
    else
      rounds.set(steal.round, {
        plannedAt: Math.min(round.plannedAt, steal.plannedAt),
        finishedAt: Math.max(round.finishedAt, steal.finishedAt),
        directives: round.directives + 1,
      });
  }
  let roundsMs = 0;
  for (const round of rounds.values()) roundsMs += round.finishedAt - round.plannedAt;
  return {
    costsByAgent,
    costs,
    arrivalsMs: new Map(run.tasks.map((t) => [t.id, t.createdAt - first])),
    firstEventLagMs: lags[0],
    eventLagMs: median(lags.slice(1).filter((lag) => lag !== undefined)),
    moveCostMs: run.steals.length > 0 ? roundsMs / run.steals.length : undefined,
  };
}

/**
 * When the leader's gate opened: the moments some agent became idle (nothing queued, a slot free)
 * while another held a task waiting for a slot, or the reverse, rebuilt from the recorded queues
 * (a task is queued where it was placed from its creation, moves at the end of its steal, runs
 * from its start to its finish). Events at one instant are applied together.
 */
export function gateOpenings(agents: readonly SimAgent[], run: { tasks: readonly RecordedTask[]; steals: readonly RecordedSteal[] }): number[] {
  const changes: Array<{ at: number; agent: string; queued: number; running: number }> = [];
  for (const task of run.tasks) {
    changes.push({ at: task.createdAt, agent: task.placedOn, queued: 1, running: 0 });
    changes.push({ at: task.startedAt, agent: task.agent, queued: -1, running: 1 });
    changes.push({ at: task.finishedAt, agent: task.agent, queued: 0, running: -1 });
  }
  for (const steal of run.steals) {
    for (const _ of steal.taskIds) {
      changes.push({ at: steal.finishedAt, agent: steal.source, queued: -1, running: 0 });
      changes.push({ at: steal.finishedAt, agent: steal.target, queued: 1, running: 0 });
    }
  }
  changes.sort((a, b) => a.at - b.at);
  const slots = new Map(agents.map((a) => [a.id, a.slots]));
  const queued = new Map(agents.map((a) => [a.id, 0]));
  const running = new Map(agents.map((a) => [a.id, 0]));
  const openings: number[] = [];
  let open = false;
  for (let i = 0; i < changes.length;) {
    const at = changes[i]!.at;
    for (; i < changes.length && changes[i]!.at === at; i += 1) {
      const change = changes[i]!;
      queued.set(change.agent, queued.get(change.agent)! + change.queued);
      running.set(change.agent, running.get(change.agent)! + change.running);
    }
    const ids = [...slots.keys()];
    const idle = ids.some((id) => queued.get(id)! <= 0 && running.get(id)! < slots.get(id)!);
    const waiting = ids.some((id) => queued.get(id)! > 0 && queued.get(id)! + running.get(id)! > slots.get(id)!);
    if (idle && waiting && !open) openings.push(at);
    open = idle && waiting;
  }
  return openings;
}

/** The agents with the costs measured for each. */
export function withCosts(agents: readonly SimAgent[], costsByAgent: ReadonlyMap<string, TaskCosts>): SimAgent[] {
  return agents.map((a) => ({ ...a, costs: costsByAgent.get(a.id) }));
}

/** The workload as it arrived in the recorded run: each task at its measured arrival. */
export function withArrivals(tasks: readonly SimTask[], arrivalsMs: ReadonlyMap<string, number>): SimTask[] {
  return tasks.map((t) => ({ ...t, arrivesAt: arrivalsMs.get(t.id) ?? t.arrivesAt }));
}

function insertSorted(values: number[], value: number): void {
  let i = values.length;
  while (i > 0 && values[i - 1]! > value) i -= 1;
  values.splice(i, 0, value);
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
