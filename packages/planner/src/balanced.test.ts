import { describe, expect, it } from "vitest";
import { MAX_AGENT_SPREAD } from "./durations.js";
import { planSteals } from "./plan.js";
import { projectDirectives } from "./project.js";
import { agent, config, snapshot, tasks } from "./testing.js";
import type { PlannerSnapshot } from "./types.js";

const balanced = config("balanced", { maxStealBatch: 10, minTasksToSteal: 2 });
const noHistory = { defaultTaskDurationMs: 1000 };

function twoRounds(s: PlannerSnapshot, cfg = balanced) {
  const first = planSteals(s, cfg);
  return { first, second: planSteals(projectDirectives(s, first), cfg) };
}

describe("balanced strategy", () => {
  it("moves half of a long queue to an idle agent, then plans nothing on the projected state", () => {
    const s = snapshot([agent("a", { workload: { queued: 9, running: 1 } }), agent("b")], { a: tasks("a", 9) });
    const { first, second } = twoRounds(s);
    expect(first).toEqual([
      { id: "r1-1", source: "a", target: "b", count: 5, taskIds: ["a0", "a1", "a2", "a3", "a4"], reason: "balanced: drain a 10.0s->5.0s, b 0.0s->5.0s" },
    ]);
    expect(second).toEqual([]);
  });

  it("splits a run of moves into directives of at most maxStealBatch", () => {
    const s = snapshot([agent("a", { workload: { queued: 9, running: 1 } }), agent("b")], { a: tasks("a", 9) });
    expect(planSteals(s, { ...balanced, maxStealBatch: 2 }).map((d) => [d.id, d.count])).toEqual([
      ["r1-1", 2],
      ["r1-2", 2],
      ["r1-3", 1],
    ]);
  });

  it("hysteresis: leaves tasks where they are unless the source is clearly behind", () => {
    // a: 2 s (1 running, 1 queued), b: 1 s. Moving would make b 2 s: no gain.
    const even = snapshot([agent("a", { workload: { queued: 1, running: 1 } }), agent("b", { workload: { running: 1 } })], { a: tasks("a", 1) });
    expect(planSteals(even, { ...balanced, minTasksToSteal: 1 })).toEqual([]);
    // a: 3 s, b: 1 s → one task: both 2 s.
    const behind = snapshot([agent("a", { workload: { queued: 2, running: 1 } }), agent("b", { workload: { running: 1 } })], { a: tasks("a", 2) });
    expect(planSteals(behind, balanced)).toMatchObject([{ source: "a", target: "b", count: 1 }]);
  });

  it("respects capabilities per task: only tasks the thief can run move", () => {
    const tail = [...tasks("g", 3, { requiredCapabilities: ["gpu"] }), ...tasks("p", 6)];
    const s = snapshot([agent("a", { capabilities: ["gpu"], workload: { queued: 9, running: 1 } }), agent("b")], { a: tail });
    const plan = planSteals(s, balanced);
    expect(plan).toMatchObject([{ source: "a", target: "b", count: 5 }]);
    expect(projectDirectives(s, plan).tails.b!.every((t) => t.requiredCapabilities.length === 0)).toBe(true);
    const gpuOnly = snapshot(s.agents, { a: tasks("g", 9, { requiredCapabilities: ["gpu"] }) });
    expect(planSteals(gpuOnly, balanced)).toEqual([]);
  });

  it("balances a GPU queue with the other GPU agent even when many CPU-only agents idle", () => {
    const cpus = Array.from({ length: 20 }, (_, i) => agent(`cpu${String(i).padStart(2, "0")}`, { capabilities: ["cpu"] }));
    const s = snapshot([agent("gpu1", { capabilities: ["gpu"], workload: { queued: 10 } }), agent("gpu2", { capabilities: ["gpu"] }), ...cpus], {
      gpu1: tasks("g", 10, { requiredCapabilities: ["gpu"] }),
    });
    expect(planSteals(s, balanced)).toMatchObject([{ source: "gpu1", target: "gpu2", count: 5 }]);
  });

  it("decides by expected durations, not task counts", () => {
    // a: 5 slow tasks (10 s each) = 50 s; b: 9 fast tasks (0.1 s) = 0.9 s; c idle.
    const s = snapshot(
      [
        agent("a", { workload: { queued: 4, running: 1, durationSumMs: 10_000, durationCount: 1 } }),
        agent("b", { workload: { queued: 8, running: 1, durationSumMs: 100, durationCount: 1 } }),
        agent("c"),
      ],
      { a: tasks("a", 4, { type: "slow" }), b: tasks("b", 8, { type: "fast" }) },
      { durationsByType: { slow: 10_000, fast: 100 } },
    );
    // a's slow tasks go to c and even to b (0.9 s of work); b's short queue stays.
    expect(planSteals(s, balanced)).toMatchObject([
      { source: "a", target: "c", count: 2 },
      { source: "a", target: "b", count: 1 },
    ]);
    expect(planSteals(s, config("classic"))).toMatchObject([{ source: "b", target: "c" }]);
  });

  it("steals from a deep queue (the relative margin bounds the gap, not the one-task gain)", () => {
    const s = snapshot([agent("a", { workload: { queued: 200, running: 1 } }), agent("b"), agent("c")], { a: tasks("a", 50) });
    const plan = planSteals(s, balanced);
    expect(plan.reduce((n, d) => n + d.count, 0)).toBe(50);
    expect(new Set(plan.map((d) => d.target))).toEqual(new Set(["b", "c"]));
  });

  it("fills free slots of a wider agent only while it finishes sooner", () => {
    // a: 4 slots, 4 running + 4 queued = 2 s; b: 1 slot idle. One task: a 1.75 s, b 1 s.
    const s = snapshot([agent("a", { concurrency: 4, workload: { queued: 4, running: 4 } }), agent("b")], { a: tasks("a", 4) });
    expect(planSteals(s, balanced)).toMatchObject([{ source: "a", target: "b", count: 1 }]);
  });

  it("leaves draining and dead agents to the reaper: neither sources nor targets", () => {
    const tails = { a: tasks("a", 9) };
    const draining = snapshot([agent("a", { status: "draining", workload: { queued: 9, running: 1 } }), agent("b")], tails);
    expect(planSteals(draining, balanced)).toEqual([]);
    const dead = snapshot([agent("a", { workload: { queued: 9, running: 1 } }), agent("b", { status: "dead" }), agent("c", { status: "draining" })], tails);
    expect(planSteals(dead, balanced)).toEqual([]);
  });

  it("has no count floor: one waiting task moves when it finishes sooner; respects enabled; numbers ids by round", () => {
    const s = snapshot([agent("a", { workload: { queued: 1, running: 1 } }), agent("b")], { a: tasks("a", 1) }, { round: 7 });
    expect(planSteals(s, { ...balanced, minTasksToSteal: 3 })).toMatchObject([{ id: "r7-1", source: "a", target: "b", count: 1 }]);
    expect(planSteals(s, balanced)).toMatchObject([{ id: "r7-1", source: "a", target: "b", count: 1 }]);
    expect(planSteals(s, { ...balanced, enabled: false })).toEqual([]);
    expect(planSteals(s, { ...balanced, maxStealBatch: 0 })).toEqual([]);
  });

  it("weighs each task on its own and names the tasks it moves: tasks not worth a move stay", () => {
    // a's two newest tasks take 0 ms: they are not worth a move, and they do not hide the 1 s
    // tasks behind them (a 4 s → 2 s, b 0 s → 2 s).
    const tail = [...tasks("z", 2, { type: "zero" }), ...tasks("s", 3, { type: "slow" })];
    const s = snapshot([agent("a", { workload: { queued: 5, running: 1 } }), agent("b")], { a: tail }, { durationsByType: { zero: 0, slow: 1000 } });
    const plan = planSteals(s, balanced);
    expect(plan).toMatchObject([{ source: "a", target: "b", count: 2, taskIds: ["s0", "s1"], reason: "balanced: drain a 4.0s->2.0s, b 0.0s->2.0s" }]);
    expect(projectDirectives(s, plan).tails.a!.map((t) => t.id)).toEqual(["z0", "z1", "s2"]);
  });

  it("takes the largest task worth a move first, wherever it sits in the tail", () => {
    // a: 1 s running, then (oldest first) a 6 s task and four 1 s ones: 11 s. The idle b takes
    // the 6 s task (a 5 s, b 6 s), not the newest 1 s tasks (all four would leave a at 7 s,
    // its long task starting last).
    const tail = [...tasks("s", 4, { type: "short" }), ...tasks("l", 1, { type: "long" })];
    const s = snapshot([agent("a", { workload: { queued: 5, running: 1 } }), agent("b")], { a: tail }, { durationsByType: { short: 1000, long: 6000 } });
    expect(planSteals(s, balanced)).toMatchObject([{ source: "a", target: "b", taskIds: ["l0"] }]);
  });

  it("never takes a task of raised priority from an agent that would start it no later than the thief could", () => {
    // a has 2 slots, both busy, and 3 queued; its newest task has priority 500: it starts when a slot frees.
    const urgent = (init = {}) => [{ id: "u", type: "t", requiredCapabilities: [], priority: 500, ...init }, ...tasks("a", 2)];
    const moved = (s: PlannerSnapshot) => planSteals(s, balanced).flatMap((d) => d.taskIds ?? []);
    const busyThief = agent("b", { workload: { running: 1 } });
    // b, busy, would start it no sooner than a: it stays (another task may move).
    const s = snapshot([agent("a", { concurrency: 2, workload: { queued: 3, running: 2 } }), busyThief], { a: urgent() });
    expect(moved(s)).not.toContain("u");
    // An idle thief starts it at once, sooner than a: it may move.
    const idle = snapshot([agent("a", { concurrency: 2, workload: { queued: 3, running: 2 } }), agent("b")], { a: urgent() });
    expect(moved(idle)).toContain("u");
    // With a free slot on a, a starts it at once: it stays even for an idle thief.
    const free = snapshot([agent("a", { concurrency: 4, workload: { queued: 6, running: 3 } }), agent("b")], {
      a: [{ id: "u", type: "t", requiredCapabilities: [], priority: 500 }, ...tasks("a", 5)],
    });
    expect(moved(free).length).toBeGreaterThan(0);
    expect(moved(free)).not.toContain("u");
  });

  it("counts each agent's speed: a fast agent's queue drains sooner, so it takes more", () => {
    // Same capabilities: b's tasks took 250 ms, the others' 1000 ms — b is about 2.5× as fast as the group average.
    const history = (avg: number) => ({ durationCount: 10, durationSumMs: 10 * avg });
    const s = snapshot(
      [agent("a", { workload: { queued: 11, running: 1, ...history(1000) } }), agent("b", { workload: history(250) }), agent("c", { workload: history(1000) })],
      { a: tasks("a", 11) },
      { durationsByType: { t: 750 } },
    );
    const moved = Object.fromEntries(planSteals(s, balanced).map((d) => [d.target, d.count]));
    expect(moved.b).toBeGreaterThan(2 * moved.c!);
  });

  it("believes a speed only past chance: an average a few completions away from the group's is noise", () => {
    // b averages 600 ms against a and c's 1000 ms: 1.44× the group's average (867 ms). Over 10
    // completions each that is within two standard errors of chance (1/√10 in log terms each),
    // so b counts as fast as c; over 100 it is not, and b takes more.
    const of = (completions: number) => {
      const history = (avg: number) => ({ durationCount: completions, durationSumMs: completions * avg });
      const s = snapshot(
        [
          agent("a", { workload: { queued: 11, running: 1, ...history(1000) } }),
          agent("b", { workload: history(600) }),
          agent("c", { workload: history(1000) }),
        ],
        { a: tasks("a", 11) },
        { durationsByType: { t: 867 } },
      );
      return Object.fromEntries(planSteals(s, balanced).map((d) => [d.target, d.count]));
    };
    const few = of(10);
    expect(Math.abs(few.b! - few.c!)).toBeLessThanOrEqual(1);
    const many = of(100);
    expect(many.b).toBeGreaterThan(many.c! + 1);
  });

  it("takes a task's estimate as a prior that the type's average outweighs as completions accumulate", () => {
    // The type averages 1 s; the task says 9 s. With 1 completion the estimate weighs 3 to 1: 7 s;
    // with 997, 1.024 s. a's running task is expected to take 20 s.
    const tail = [{ id: "x", type: "t", requiredCapabilities: [], estimatedDurationMs: 9000 }];
    const of = (count: number | undefined) =>
      snapshot(
        [agent("a", { workload: { queued: 1, running: 1, durationSumMs: 20_000, durationCount: 1 } }), agent("b")],
        { a: tail },
        {
          durationsByType: { t: 1000 },
          ...(count === undefined ? {} : { durationCountsByType: { t: count } }),
        },
      );
    expect(planSteals(of(1), balanced)[0]!.reason).toBe("balanced: drain a 27.0s->20.0s, b 0.0s->7.0s");
    expect(planSteals(of(997), balanced)[0]!.reason).toBe("balanced: drain a 21.0s->20.0s, b 0.0s->1.0s");
    // Without counts the average wins outright, as before.
    expect(planSteals(of(undefined), balanced)[0]!.reason).toBe("balanced: drain a 21.0s->20.0s, b 0.0s->1.0s");
  });

  it("uses the configured default duration when nothing is known", () => {
    const s = snapshot([agent("a", { workload: { queued: 3, running: 1 } }), agent("b")], { a: tasks("a", 3) });
    expect(planSteals(s, { ...balanced, ...noHistory, defaultTaskDurationMs: 2000 })[0]!.reason).toBe("balanced: drain a 8.0s->4.0s, b 0.0s->4.0s");
  });
});

describe("balanced: how widely run times spread (agents' durationSqSum)", () => {
  // Each agent's history: 10 runs averaging 1 s whose squares average 4 s² (variance 3 s²: the
  // squared coefficient of variation is 3, a standard deviation of 1.73 s).
  const history = { durationCount: 10, durationSumMs: 10_000 };
  const spread = { ...history, durationSqSum: 10 * 4_000_000 };
  const victim = (workload: object) => agent("v", { workload: { queued: 3, running: 1, ...workload } });
  const busyThief = (workload: object) => agent("t", { workload: { running: 1, ...workload } });

  it("counts a running task at (1 + spread) / 2 of its average: seen mid-run, a task is more likely a long one", () => {
    const idle = (workload: object) => agent("t", { workload });
    // The margin of the next test left out (the second task would wait on t).
    const noMargin = { ...balanced, marginSpread: 0 };
    // Without squares: v holds 1 + 3 s. With them: its running task counts 2 s (an idle thief runs none).
    expect(planSteals(snapshot([victim(history), idle(history)], { v: tasks("v", 3) }), noMargin)[0]!.reason).toBe(
      "balanced: drain v 4.0s->2.0s, t 0.0s->2.0s",
    );
    expect(planSteals(snapshot([victim(spread), idle(spread)], { v: tasks("v", 3) }), noMargin)[0]!.reason).toBe("balanced: drain v 5.0s->3.0s, t 0.0s->2.0s");
  });

  it("plans on a hand-edited agent's squares past double range as on the largest spread counted, not on an infinite one", () => {
    const edited = { ...history, durationSqSum: 1.7e308 };
    const capped = { ...history, durationSqSum: (1 + MAX_AGENT_SPREAD) * 10 * 1_000_000 };
    const plan = planSteals(snapshot([victim(edited), agent("t", { workload: history })], { v: tasks("v", 3) }), balanced);
    // The running task counts 4 s: (1 + 7) / 2 of its average.
    expect(plan[0]!.reason).toBe("balanced: drain v 7.0s->5.0s, t 0.0s->2.0s");
    expect(plan).toEqual(planSteals(snapshot([victim(capped), agent("t", { workload: history })], { v: tasks("v", 3) }), balanced));
  });

  it("sends a task to a busy thief only when it finishes sooner there by a standard deviation of the wait for it", () => {
    // Without squares: t (1 s running) finishes a task at 2 s, v at 4 s: one moves.
    expect(planSteals(snapshot([victim(history), busyThief(history)], { v: tasks("v", 3) }), balanced)).toMatchObject([{ source: "v", target: "t", count: 1 }]);
    // With them: v drains at 5 s, t would finish the task at 3 s, and at 4.73 s a standard
    // deviation later (it waits behind t's running task): not clearly sooner than v's 4 s without it.
    expect(planSteals(snapshot([victim(spread), busyThief(spread)], { v: tasks("v", 3) }), balanced)).toEqual([]);
    // An idle thief starts the task at once: no wait, no margin; the second would wait behind it.
    expect(planSteals(snapshot([victim(spread), agent("t", { workload: spread })], { v: tasks("v", 3) }), balanced)[0]!.reason).toBe(
      "balanced: drain v 5.0s->4.0s, t 0.0s->1.0s",
    );
    // At 0 standard deviations, only the running task's count is left: the task moves.
    expect(planSteals(snapshot([victim(spread), busyThief(spread)], { v: tasks("v", 3) }), { ...balanced, marginSpread: 0 })).toMatchObject([
      { source: "v", target: "t", count: 1 },
    ]);
  });
});
