import type { AgentView, PlannedDirective } from "@worksteal/protocol";
import { canRun } from "../capabilities.js";
import { planSteals } from "../plan.js";
import { findBestAgent } from "../placement.js";
import { projectDirectives } from "../project.js";
import type { PlannerSnapshot, TaskSummary } from "../types.js";
import { needsTail, tailLength } from "../victims.js";
import { EventQueue } from "./event-queue.js";
import type { BacklogSample, SimAgent, SimOptions, SimPolicy, SimResult, SimTask, TaskOutcome } from "./model.js";

/** The executor looks at most at this many candidates per task it moves (executor.ts: 4 per task, 5 pages). */
const EXECUTOR_CANDIDATES_PER_TASK = 20;

type SimEvent =
  | { kind: "arrive"; task: number }
  | { kind: "finish"; task: number }
  /** A finished task's duration reaches the planner's statistics (the event fold lags). */
  | { kind: "fold"; task: number }
  /** A planning round: on the timer (which then sets the next), or for an event (eventRounds). */
  | { kind: "plan"; timer: boolean }
  | { kind: "move"; directive: PlannedDirective }
  /** Free slots pull from the shared queue, once per instant (LPT weighs its tasks and free agents together). */
  | { kind: "pull" }
  | { kind: "sample" };

interface AgentState {
  readonly agent: SimAgent;
  readonly index: number;
  readonly caps: ReadonlySet<string>;
  readonly speed: number;
  readonly claimMs: number;
  readonly finishMs: number;
  /** Queued task numbers, oldest first: a free slot takes the oldest, a steal the newest. */
  queue: number[];
  running: number;
  done: number;
  durationSumMs: number;
  /** Sum of the squares of its run times (only passed on with secondMoments). */
  durationSqSum: number;
  durationCount: number;
}

/**
 * Discrete-event run of one workload under one policy. Pure and deterministic: no clock, no I/O,
 * ties broken by the order events were scheduled. The steal policy builds the snapshot the
 * coordinator builds (snapshot.ts): queue counts exact, tails of `maxStealBatch × 4` newest tasks
 * only for the agents the strategy may take from (`needsTail`), durations per type (with their
 * counts) and per agent (only for those agents and the idle ones; with `secondMoments` their
 * squares too) only from completions older than `eventLagMs`, and directives still in
 * flight projected in. Rounds run every `stealIntervalMs`, and with `eventRounds` also
 * `eventLagMs` (the first `firstEventLagMs`) after an agent goes idle or a task queues behind busy
 * slots (one such round pending at a time); with `idleGate`, a round plans only while an agent is idle beside a
 * backlog. A
 * directive is executed `moveCostMs` after the one before it (the first `moveCostMs` after
 * planning) and moves the tasks it names that are still queued on the source (naming none, the
 * newest queued tasks the target can run), as the executor does.
 * With `sampleEveryMs`, every agent's backlog is recorded for charts; with an agent's `costs`,
 * every task holds its slot there for its claim and finish besides its duration.
 */
export function simulate(agents: readonly SimAgent[], tasks: readonly SimTask[], policy: SimPolicy, options: SimOptions = {}): SimResult {
  const states = agents.map((agent, index): AgentState => ({
    agent,
    index,
    caps: new Set(agent.capabilities ?? []),
    speed: agent.speed ?? 1,
    claimMs: agent.costs?.claimMs ?? 0,
    finishMs: agent.costs?.finishMs ?? 0,
    queue: [],
    running: 0,
    done: 0,
    durationSumMs: 0,
    durationSqSum: 0,
    durationCount: 0,
  }));
  const byId = new Map(states.map((s) => [s.agent.id, s]));
  const taskNumber = new Map(tasks.map((t, i) => [t.id, i]));
  for (const { agent, claimMs, finishMs } of states) {
    if (!(claimMs >= 0 && finishMs >= 0 && Number.isFinite(claimMs + finishMs)))
      throw new Error(`${agent.id}'s task costs must be finite and not below 0, not ${claimMs} and ${finishMs}`);
  }
  for (const task of tasks) {
    if (!states.some((s) => canRun(s.caps, task.requiredCapabilities))) throw new Error(`no agent can run task ${task.id}`);
    const target = task.target === undefined ? undefined : byId.get(task.target);
    if (task.target !== undefined && !target) throw new Error(`task ${task.id} targets unknown agent ${task.target}`);
    if (target && !canRun(target.caps, task.requiredCapabilities)) throw new Error(`task ${task.id} targets ${task.target}, which cannot run it`);
  }
  const outcomes: TaskOutcome[] = tasks.map((t) => ({ id: t.id, agent: "", placedOn: "", arrivesAt: t.arrivesAt, startedAt: NaN, finishedAt: NaN, moves: 0 }));
  const typeStats = new Map<string, { sum: number; count: number }>();
  const shared: number[] = [];
  const inFlight = new Set<PlannedDirective>();
  const events = new EventQueue<SimEvent>();
  let now = 0;
  let finished = 0;
  let moves = 0;
  let directives = 0;
  let rounds = 0;
  tasks.forEach((task, i) => events.push(task.arrivesAt, { kind: "arrive", task: i }));
  if (policy.kind === "steal" && tasks.length > 0) events.push(policy.stealIntervalMs, { kind: "plan", timer: true });
  /** When the event round already scheduled runs (-Infinity: none is). */
  let eventRoundAt = -Infinity;
  let firstEventRound = true;
  const eventRound = () => {
    if (policy.kind !== "steal" || !policy.eventRounds || eventRoundAt >= now) return;
    const lagMs = firstEventRound ? (policy.firstEventLagMs ?? policy.eventLagMs ?? 0) : (policy.eventLagMs ?? 0);
    firstEventRound = false;
    eventRoundAt = now + lagMs;
    events.push(eventRoundAt, { kind: "plan", timer: false });
  };
  const sampleEveryMs = options.sampleEveryMs;
  if (sampleEveryMs !== undefined && !(sampleEveryMs > 0)) throw new Error(`sampleEveryMs must be above 0, not ${sampleEveryMs}`);
  const backlog: BacklogSample[] = [];
  if (sampleEveryMs !== undefined && tasks.length > 0) events.push(0, { kind: "sample" });

  const start = (state: AgentState, task: number) => {
    state.running += 1;
    const outcome = outcomes[task]!;
    outcome.agent = state.agent.id;
    outcome.startedAt = now + state.claimMs;
    events.push(outcome.startedAt + tasks[task]!.durationMs / state.speed + state.finishMs, { kind: "finish", task });
  };
  const dispatch = (state: AgentState) => {
    while (state.running < state.agent.slots && state.queue.length > 0) start(state, state.queue.shift()!);
  };
  const pullsLongest = policy.kind === "lpt";
  // LPT gives the longest task to the fastest free agent; the shared queue takes agents in order.
  const pullOrder = pullsLongest ? [...states].sort((a, b) => b.speed - a.speed || a.index - b.index) : states;
  /** Where in the shared queue the next task for this agent is: the oldest it can run, or (LPT) the longest. */
  const nextShared = (state: AgentState): number => {
    let best = -1;
    for (let at = 0; at < shared.length; at += 1) {
      const task = tasks[shared[at]!]!;
      if (!canRun(state.caps, task.requiredCapabilities)) continue;
      if (!pullsLongest) return at;
      if (best < 0 || task.durationMs > tasks[shared[best]!]!.durationMs) best = at;
    }
    return best;
  };
  const dispatchShared = () => {
    for (const state of pullOrder) {
      while (state.running < state.agent.slots) {
        const at = nextShared(state);
        if (at < 0) break;
        start(state, shared.splice(at, 1)[0]!);
      }
    }
  };
  const pulls = policy.kind === "shared" || policy.kind === "lpt";
  /** When the pull last scheduled runs (-Infinity: none yet). */
  let pullAt = -Infinity;
  /**
   * Free slots pull once every arrival and finish of this instant is in: those were scheduled
   * before the pull, so it sees all the tasks and free slots of the instant together.
   */
  const pull = () => {
    if (pullAt < now) events.push((pullAt = now), { kind: "pull" });
  };

  const secondMoments = policy.kind === "steal" && policy.secondMoments === true;
  const views = (): AgentView[] =>
    states.map((s) => ({
      id: s.agent.id,
      capabilities: [...s.caps],
      concurrency: s.agent.slots,
      priority: 0,
      status: "alive",
      lastHeartbeat: now,
      workload: {
        queued: s.queue.length,
        running: s.running,
        done: s.done,
        failed: 0,
        stolenIn: 0,
        stolenOut: 0,
        durationSumMs: s.durationSumMs,
        durationCount: s.durationCount,
        ...(secondMoments ? { durationSqSum: s.durationSqSum } : {}),
        cpu: Math.round((100 * s.running) / s.agent.slots),
        memoryMb: 0,
        metricsAt: now,
      },
    }));
  const durationsByType = (): Record<string, number> => Object.fromEntries([...typeStats].map(([type, { sum, count }]) => [type, sum / count]));
  const durationCountsByType = (): Record<string, number> => Object.fromEntries([...typeStats].map(([type, { count }]) => [type, count]));
  const summary = (task: number): TaskSummary => {
    const t = tasks[task]!;
    return {
      id: t.id,
      type: t.type,
      requiredCapabilities: t.requiredCapabilities,
      epoch: 1 + outcomes[task]!.moves,
      ...(t.estimatedDurationMs === undefined ? {} : { estimatedDurationMs: t.estimatedDurationMs }),
    };
  };

  const place = (task: number): AgentState => {
    const t = tasks[task]!;
    if (t.target !== undefined) return byId.get(t.target)!;
    const best = findBestAgent(t, views(), { durationsByType: durationsByType() });
    return byId.get(best!.id)!;
  };

  const idle = (s: AgentState) => s.queue.length === 0 && s.running < s.agent.slots;
  const waiting = (s: AgentState) => s.queue.length > 0 && s.queue.length + s.running > s.agent.slots;
  const plan = () => {
    if (policy.kind !== "steal") return;
    if (policy.idleGate && !(states.some(idle) && states.some(waiting))) return;
    rounds += 1;
    const { config } = policy;
    const length = tailLength(config);
    const tails: Record<string, TaskSummary[]> = {};
    const agentViews = views();
    states.forEach((s, i) => {
      const view = agentViews[i]!;
      const victim = needsTail(view, config);
      if (victim) tails[s.agent.id] = s.queue.slice(-length).reverse().map(summary);
      // The leader reads an agent's own completions only for the idle agents and the victims (snapshot.ts).
      if (!victim && !idle(s)) view.workload = { ...view.workload, durationSumMs: 0, durationCount: 0, durationSqSum: undefined };
    });
    let snapshot: PlannerSnapshot = {
      agents: agentViews,
      tails,
      durationsByType: durationsByType(),
      durationCountsByType: durationCountsByType(),
      round: rounds,
    };
    if (inFlight.size > 0) snapshot = projectDirectives(snapshot, [...inFlight]);
    const planned = planSteals(snapshot, config);
    const moveCostMs = policy.moveCostMs ?? 0;
    planned.forEach((directive, i) => {
      inFlight.add(directive);
      events.push(now + moveCostMs * (i + 1), { kind: "move", directive });
    });
    directives += planned.length;
  };

  /** The named tasks still queued on the source that the target can run. */
  const namedTasks = (source: AgentState, target: AgentState, taskIds: readonly string[]): number[] => {
    const queued = new Set(source.queue);
    return taskIds.flatMap((id) => {
      const task = taskNumber.get(id);
      return task !== undefined && queued.has(task) && canRun(target.caps, tasks[task]!.requiredCapabilities) ? [task] : [];
    });
  };
  /** A directive naming no tasks: the source's newest the target can run, within the executor's reach. */
  const newestTasks = (source: AgentState, target: AgentState, count: number): number[] => {
    const taken: number[] = [];
    const oldestLooked = Math.max(0, source.queue.length - count * EXECUTOR_CANDIDATES_PER_TASK);
    for (let i = source.queue.length - 1; i >= oldestLooked && taken.length < count; i -= 1) {
      const task = source.queue[i]!;
      if (canRun(target.caps, tasks[task]!.requiredCapabilities)) taken.push(task);
    }
    return taken;
  };
  const move = (directive: PlannedDirective) => {
    inFlight.delete(directive);
    const source = byId.get(directive.source);
    const target = byId.get(directive.target);
    if (!source || !target || source === target) return;
    const taken = directive.taskIds ? namedTasks(source, target, directive.taskIds) : newestTasks(source, target, directive.count);
    if (taken.length === 0) return;
    const leaving = new Set(taken);
    source.queue = source.queue.filter((task) => !leaving.has(task));
    // The executor queues them in the order it took them: the last becomes the target's newest.
    target.queue.push(...taken);
    for (const task of taken) outcomes[task]!.moves += 1;
    moves += taken.length;
    dispatch(target);
  };

  for (let next = events.pop(); next; next = events.pop()) {
    now = next.at;
    const event = next.event;
    switch (event.kind) {
      case "arrive":
        if (pulls) {
          shared.push(event.task);
          pull();
        } else {
          const state = place(event.task);
          outcomes[event.task]!.placedOn = state.agent.id;
          state.queue.push(event.task);
          dispatch(state);
          if (state.queue.length > 0) eventRound();
        }
        break;
      case "finish": {
        const outcome = outcomes[event.task]!;
        const state = byId.get(outcome.agent)!;
        outcome.finishedAt = now;
        state.running -= 1;
        finished += 1;
        events.push(now + (policy.kind === "steal" ? (policy.eventLagMs ?? 0) : 0), { kind: "fold", task: event.task });
        if (pulls) pull();
        else dispatch(state);
        if (state.queue.length === 0) eventRound();
        break;
      }
      case "fold": {
        const outcome = outcomes[event.task]!;
        const state = byId.get(outcome.agent)!;
        const ms = outcome.finishedAt - outcome.startedAt;
        state.done += 1;
        state.durationSumMs += ms;
        state.durationSqSum += ms * ms;
        state.durationCount += 1;
        const type = tasks[event.task]!.type;
        const stats = typeStats.get(type) ?? { sum: 0, count: 0 };
        typeStats.set(type, { sum: stats.sum + ms, count: stats.count + 1 });
        break;
      }
      case "plan":
        if (finished === tasks.length) break;
        plan();
        if (policy.kind === "steal" && event.timer) events.push(now + policy.stealIntervalMs, { kind: "plan", timer: true });
        break;
      case "move":
        move(event.directive);
        break;
      case "pull":
        dispatchShared();
        break;
      case "sample":
        backlog.push({ at: now, held: states.map((s) => s.queue.length + s.running), shared: shared.length });
        if (finished < tasks.length) events.push(now + sampleEveryMs!, { kind: "sample" });
        break;
    }
  }
  const makespanMs = outcomes.reduce((max, o) => Math.max(max, o.finishedAt), 0);
  return { makespanMs, tasks: outcomes, moves, directives, rounds, ...(sampleEveryMs === undefined ? {} : { backlog }) };
}
