import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { StrategyName } from "@worksteal/protocol";
import { config } from "../testing.js";
import { lowerBound } from "./lower-bound.js";
import { metricsOf } from "./metrics.js";
import type { SimAgent, SimPolicy, SimTask } from "./model.js";
import { SCENARIOS } from "./scenarios.js";
import { simulate } from "./simulate.js";
import { generateTasks } from "./workload.js";

const task = (id: string, durationMs: number, init: Partial<SimTask> = {}): SimTask => ({
  id,
  type: "t",
  requiredCapabilities: [],
  durationMs,
  arrivesAt: 0,
  ...init,
});
const steal = (strategy: StrategyName, stealIntervalMs = 10, extra: Partial<Extract<SimPolicy, { kind: "steal" }>> = {}): SimPolicy => ({
  kind: "steal",
  config: config(strategy),
  stealIntervalMs,
  ...extra,
});
const schedule = (result: ReturnType<typeof simulate>) => result.tasks.map((t) => [t.id, t.agent, t.startedAt, t.finishedAt]);

describe("metricsOf: moves", () => {
  it("counts as needed only the moves that make each agent's count of tasks run, and the rest as excess", () => {
    const outcome = (id: string, placedOn: string, agent: string, moves: number) => ({ id, placedOn, agent, moves, arrivesAt: 0, startedAt: 0, finishedAt: 1 });
    // t1 a→b→c, t2 b→a, t3 a→b→a: a runs as many as were placed on it, b one fewer, c one more —
    // one move (b→c) would end the same; the other four are excess, two of them repeats.
    const tasks = [outcome("t1", "a", "c", 2), outcome("t2", "b", "a", 1), outcome("t3", "a", "a", 2)];
    expect(metricsOf({ makespanMs: 1, tasks, moves: 5, directives: 5, rounds: 1 })).toMatchObject({
      movesPerTask: 5 / 3,
      neededMovesPerTask: 1 / 3,
      excessMovesPerTask: 4 / 3,
      repeatMovesPerTask: 2 / 3,
    });
  });
});

describe("simulate: hand-computed schedules", () => {
  it("one slot runs its queue oldest first", () => {
    const result = simulate([{ id: "a", slots: 1 }], [task("t0", 100), task("t1", 200), task("t2", 300)], { kind: "none" });
    expect(schedule(result)).toEqual([
      ["t0", "a", 0, 100],
      ["t1", "a", 100, 300],
      ["t2", "a", 300, 600],
    ]);
    expect(metricsOf(result)).toEqual({
      makespanMs: 600,
      meanWaitMs: 400 / 3,
      p99WaitMs: 300,
      movesPerTask: 0,
      neededMovesPerTask: 0,
      excessMovesPerTask: 0,
      repeatMovesPerTask: 0,
    });
  });

  it("speed divides durations and every slot runs one task", () => {
    const result = simulate([{ id: "a", slots: 2, speed: 2 }], [task("t0", 100), task("t1", 100), task("t2", 100, { arrivesAt: 10 })], { kind: "none" });
    expect(schedule(result)).toEqual([
      ["t0", "a", 0, 50],
      ["t1", "a", 0, 50],
      ["t2", "a", 50, 100],
    ]);
  });

  it("without stealing an idle agent stays idle; one shared queue uses it", () => {
    const agents: SimAgent[] = [
      { id: "a", slots: 1 },
      { id: "b", slots: 1 },
    ];
    const tasks = ["t0", "t1", "t2", "t3"].map((id) => task(id, 100, { target: "a" }));
    expect(simulate(agents, tasks, { kind: "none" }).makespanMs).toBe(400);
    expect(schedule(simulate(agents, tasks, { kind: "shared" }))).toEqual([
      ["t0", "a", 0, 100],
      ["t1", "b", 0, 100],
      ["t2", "a", 100, 200],
      ["t3", "b", 100, 200],
    ]);
  });

  it("a shared queue gives a slot the oldest task it can run", () => {
    const agents: SimAgent[] = [
      { id: "gpu", slots: 1, capabilities: ["gpu"] },
      { id: "cpu", slots: 1 },
    ];
    const tasks = [task("g0", 100, { requiredCapabilities: ["gpu"] }), task("g1", 100, { requiredCapabilities: ["gpu"] }), task("c0", 50)];
    expect(schedule(simulate(agents, tasks, { kind: "shared" }))).toEqual([
      ["g0", "gpu", 0, 100],
      ["g1", "gpu", 100, 200],
      ["c0", "cpu", 0, 50],
    ]);
  });

  // LPT: at 0 the fast agent f (speed 2) takes the longest, t2 (400 → 200 ms), s takes t3 (300);
  // f frees at 200 and takes t1 (200 → 100 ms), then t0 at 300 (100 → 50 ms): makespan 350, where
  // the shared queue (oldest first) ends at 500.
  it("lpt gives a free slot the longest task, the fastest free agent first", () => {
    const agents: SimAgent[] = [
      { id: "s", slots: 1 },
      { id: "f", slots: 1, speed: 2 },
    ];
    const tasks = [task("t0", 100), task("t1", 200), task("t2", 400), task("t3", 300)];
    expect(schedule(simulate(agents, tasks, { kind: "lpt" }))).toEqual([
      ["t0", "f", 300, 350],
      ["t1", "f", 200, 300],
      ["t2", "f", 0, 200],
      ["t3", "s", 0, 300],
    ]);
    expect(simulate(agents, tasks, { kind: "shared" }).makespanMs).toBe(500);
  });

  // Claim 10 ms, finish 5 ms: t0 starts at 10, runs to 110 and frees the slot at 115; t1 starts
  // at 125 and frees it at 230.
  it("task costs hold the slot for the claim before the start and the finish after the duration", () => {
    const result = simulate([{ id: "a", slots: 1, costs: { claimMs: 10, finishMs: 5 } }], [task("t0", 100), task("t1", 100)], { kind: "none" });
    expect(schedule(result)).toEqual([
      ["t0", "a", 10, 115],
      ["t1", "a", 125, 230],
    ]);
  });

  // The round at 10 ms sees a: 1 running + 3 queued, b idle, every task at the 1000 ms default:
  // two moves even them out (2 and 2). The directive runs at 15 ms and takes a's newest first:
  // t3 then t2, queued on b in that order.
  it("balanced moves the newest tasks, after the planning interval and the move cost", () => {
    const agents: SimAgent[] = [
      { id: "a", slots: 1 },
      { id: "b", slots: 1 },
    ];
    const tasks = ["t0", "t1", "t2", "t3"].map((id) => task(id, 100, { target: "a" }));
    const result = simulate(agents, tasks, steal("balanced", 10, { moveCostMs: 5 }));
    expect(schedule(result)).toEqual([
      ["t0", "a", 0, 100],
      ["t1", "a", 100, 200],
      ["t2", "b", 115, 215],
      ["t3", "b", 15, 115],
    ]);
    expect([result.moves, result.directives]).toEqual([2, 1]);
    expect(result.tasks.map((t) => t.moves)).toEqual([0, 0, 1, 1]);
  });

  // balanced has no count floor: one waiting task goes to an idle peer at the first round (10 ms)
  // with the default minTasksToSteal of 2; classic keeps the seed's floor and thresholds.
  it("a single waiting task moves to an idle agent (balanced); classic leaves it", () => {
    const agents: SimAgent[] = [
      { id: "a", slots: 1 },
      { id: "b", slots: 1 },
    ];
    const tasks = [task("t0", 100, { target: "a" }), task("t1", 100, { target: "a" })];
    expect(schedule(simulate(agents, tasks, steal("balanced")))).toEqual([
      ["t0", "a", 0, 100],
      ["t1", "b", 10, 110],
    ]);
    expect(schedule(simulate(agents, tasks, steal("classic")))).toEqual([
      ["t0", "a", 0, 100],
      ["t1", "a", 100, 200],
    ]);
  });

  // Rounds every 1000 ms: the first would come after both tasks ran. With event rounds, the task
  // queued behind a's busy slot at 0 ms calls a round at 0 + 20 ms (the event lag), which moves
  // t1 (5 ms of move cost); the rounds when a and b go idle plan nothing.
  it("event rounds: a task queued behind busy slots calls a round one event lag later", () => {
    const agents: SimAgent[] = [
      { id: "a", slots: 1 },
      { id: "b", slots: 1 },
    ];
    const tasks = [task("t0", 100, { target: "a" }), task("t1", 100, { target: "a" })];
    const timerOnly = simulate(agents, tasks, steal("balanced", 1000, { eventLagMs: 20, moveCostMs: 5 }));
    expect(schedule(timerOnly)).toEqual([
      ["t0", "a", 0, 100],
      ["t1", "a", 100, 200],
    ]);
    const onEvents = simulate(agents, tasks, steal("balanced", 1000, { eventLagMs: 20, moveCostMs: 5, eventRounds: true }));
    expect(schedule(onEvents)).toEqual([
      ["t0", "a", 0, 100],
      ["t1", "b", 25, 125],
    ]);
    expect(onEvents.rounds).toBe(2);
    // The first event round later (a leader flooded by a burst): t1 moves at 40 + 5.
    const slowFirst = simulate(agents, tasks, steal("balanced", 1000, { eventLagMs: 20, firstEventLagMs: 40, moveCostMs: 5, eventRounds: true }));
    expect(schedule(slowFirst)).toEqual([
      ["t0", "a", 0, 100],
      ["t1", "b", 45, 145],
    ]);
  });

  // a holds four 100 ms tasks, b one of 400 ms: both busy until 400 ms. Rounds every 10 ms move
  // tasks to b (its estimate is shorter); the leader's gate waits for an idle agent, and none is
  // idle before a has run all of its own.
  it("idle gate: a fleet where every agent is busy is left alone", () => {
    const agents: SimAgent[] = [
      { id: "a", slots: 1 },
      { id: "b", slots: 1 },
    ];
    const tasks = [...["t0", "t1", "t2", "t3"].map((id) => task(id, 100, { target: "a" })), task("long", 400, { target: "b" })];
    expect(simulate(agents, tasks, steal("balanced")).moves).toBeGreaterThan(0);
    const gated = simulate(agents, tasks, steal("balanced", 10, { idleGate: true }));
    expect([gated.moves, gated.rounds, gated.makespanMs]).toEqual([0, 0, 400]);
  });

  it("a move takes only tasks the target can run", () => {
    const agents: SimAgent[] = [
      { id: "a", slots: 1, capabilities: ["gpu"] },
      { id: "b", slots: 1 },
    ];
    const tasks = [
      task("t0", 100, { target: "a" }),
      task("t1", 100, { target: "a" }),
      task("t2", 100, { target: "a" }),
      task("g", 100, { target: "a", requiredCapabilities: ["gpu"] }),
    ];
    const result = simulate(agents, tasks, steal("balanced"));
    expect(result.tasks.find((t) => t.id === "g")?.agent).toBe("a");
    expect(result.tasks.find((t) => t.id === "t2")?.agent).toBe("b");
  });

  it("samples every agent's backlog until the last task finishes", () => {
    const result = simulate([{ id: "a", slots: 1 }], [task("t0", 100), task("t1", 100)], { kind: "none" }, { sampleEveryMs: 100 });
    expect(result.backlog).toEqual([
      { at: 0, held: [2], shared: 0 },
      { at: 100, held: [1], shared: 0 },
      { at: 200, held: [0], shared: 0 },
    ]);
    expect(() => simulate([{ id: "a", slots: 1 }], [task("t0", 100)], { kind: "none" }, { sampleEveryMs: 0 })).toThrow(/above 0/);
  });

  it("refuses a task no agent, or not its target, can run", () => {
    expect(() => simulate([{ id: "a", slots: 1 }], [task("g", 1, { requiredCapabilities: ["gpu"] })], { kind: "none" })).toThrow(/no agent/);
    const agents = [
      { id: "a", slots: 1 },
      { id: "g", slots: 1, capabilities: ["gpu"] },
    ];
    expect(() => simulate(agents, [task("g", 1, { requiredCapabilities: ["gpu"], target: "a" })], { kind: "none" })).toThrow(/cannot run/);
  });
});

describe("lowerBound", () => {
  it("is the largest of: work per capability set over its capacity, and the longest task", () => {
    const agents: SimAgent[] = [
      { id: "g", slots: 2, capabilities: ["gpu"] },
      { id: "f", slots: 1, speed: 2 },
    ];
    const gpu = (id: string) => task(id, 600, { requiredCapabilities: ["gpu"] });
    // gpu: 1800 ms of work on 2 slots at speed 1 = 900; all: 2200 / 4 = 550; longest 600.
    expect(lowerBound(agents, [gpu("g0"), gpu("g1"), gpu("g2"), task("c", 400)])).toBe(900);
    // The fast agent runs a 1000 ms task in 500 ms: the longest task bounds at 500, work at 1000 / 4.
    expect(lowerBound(agents, [task("c", 1000)])).toBe(500);
    // Work arriving late cannot start earlier: a 400 ms task at 1000 ms ends at best at 1000 + 400 / 2 (the fast agent)…
    expect(lowerBound(agents, [task("early", 100), task("late", 400, { arrivesAt: 1000 })])).toBe(1200);
    // … and four of them at best at 1000 + 1600 / 4.
    const late = ["l0", "l1", "l2", "l3"].map((id) => task(id, 400, { arrivesAt: 1000 }));
    expect(lowerBound(agents, [task("early", 100), ...late])).toBe(1400);
  });
});

const CAPS = ["gpu", "io"] as const;
const fleetArb = fc.array(fc.record({ slots: fc.integer({ min: 1, max: 3 }), speed: fc.constantFrom(1, 2), capabilities: fc.subarray([...CAPS]) }), {
  minLength: 1,
  maxLength: 4,
});
const workloadArb = fleetArb.chain((fleet) => {
  const agents: SimAgent[] = fleet.map((a, i) => ({ id: `a${i}`, ...a }));
  const taskArb = fc
    .record({
      durationMs: fc.integer({ min: 1, max: 500 }),
      arrivesAt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1000 })),
      owner: fc.nat(agents.length - 1),
      required: fc.subarray([...CAPS], { maxLength: 1 }),
      targeted: fc.boolean(),
    })
    .map(({ owner, required, targeted, ...t }) => {
      const target = agents[owner]!;
      // Ask only what the owner has, so the owner may be named as the target.
      const requiredCapabilities = required.filter((c) => target.capabilities?.includes(c));
      return { ...t, type: "t", requiredCapabilities, ...(targeted ? { target: target.id } : {}) };
    });
  return fc.record({
    agents: fc.constant(agents),
    tasks: fc.array(taskArb, { minLength: 1, maxLength: 30 }).map((ts) => ts.map((t, i): SimTask => ({ id: `t${i}`, ...t }))),
  });
});

const POLICIES: Record<string, SimPolicy> = {
  none: { kind: "none" },
  shared: { kind: "shared" },
  lpt: { kind: "lpt" },
  classic: steal("classic", 50, { eventLagMs: 20, moveCostMs: 5 }),
  balanced: steal("balanced", 50, { eventLagMs: 20, moveCostMs: 5 }),
};

describe("simulate: properties", () => {
  it("every task runs once, after it arrives, on an agent that can run it, and no makespan is below the lower bound", () => {
    fc.assert(
      fc.property(workloadArb, ({ agents, tasks }) => {
        const bound = lowerBound(agents, tasks);
        for (const policy of Object.values(POLICIES)) {
          const result = simulate(agents, tasks, policy);
          expect(result.makespanMs).toBeGreaterThanOrEqual(bound - 1e-9);
          result.tasks.forEach((outcome, i) => {
            const t = tasks[i]!;
            const agent = agents.find((a) => a.id === outcome.agent)!;
            expect(t.requiredCapabilities.every((c) => agent.capabilities?.includes(c))).toBe(true);
            expect(outcome.startedAt).toBeGreaterThanOrEqual(t.arrivesAt);
            expect(outcome.finishedAt - outcome.startedAt).toBeCloseTo(t.durationMs / (agent.speed ?? 1), 6);
          });
        }
      }),
      { numRuns: 60 },
    );
  });

  it("is deterministic", () => {
    fc.assert(
      fc.property(workloadArb, ({ agents, tasks }) => {
        expect(simulate(agents, tasks, POLICIES.balanced!)).toEqual(simulate(agents, tasks, POLICIES.balanced!));
      }),
      { numRuns: 20 },
    );
  });
});

describe("simulate: secondMoments", () => {
  it("passes the planner each agent's squares of run times only when asked: widely spread durations move fewer tasks", () => {
    const { agents, streams } = SCENARIOS.find((s) => s.name === "bimodal-half")!;
    const tasks = generateTasks(streams, 42);
    const policy = { eventRounds: true, idleGate: true, eventLagMs: 50, moveCostMs: 5 };
    const without = simulate(agents, tasks, steal("balanced", 1000, policy));
    const withSquares = simulate(agents, tasks, steal("balanced", 1000, { ...policy, secondMoments: true }));
    expect(withSquares.moves).toBeLessThan(without.moves);
  });
});
