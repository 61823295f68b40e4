import { describe, expect, it } from "vitest";
import { planSteals } from "./plan.js";
import { projectDirectives } from "./project.js";
import { agent, config, snapshot, tasks } from "./testing.js";

const classic = config("classic", { stealThreshold: 2, maxStealBatch: 5, minTasksToSteal: 2 });

describe("classic strategy", () => {
  it("reproduces the original: taskCount 12 vs 0, threshold 2, batch 5 → steal min(floor(12/2), 5) = 5", () => {
    const s = snapshot([agent("a", { workload: { queued: 10, running: 2, cpu: 50 } }), agent("b", { workload: { cpu: 10 } })], { a: tasks("a", 10) });
    expect(planSteals(s, classic)).toEqual([
      {
        id: "r1-1",
        source: "a",
        target: "b",
        count: 5,
        taskIds: ["a0", "a1", "a2", "a3", "a4"],
        reason: "classic: a 12 tasks (cpu 50) -> b 0 tasks (cpu 10), score 0.80",
      },
    ]);
  });

  it("a difference below stealThreshold steals nothing; above it, half the difference", () => {
    const s = snapshot([agent("a", { workload: { queued: 9 } }), agent("b", { workload: { running: 1 } })], { a: tasks("a", 9) });
    expect(planSteals(s, { ...classic, stealThreshold: 10 })).toEqual([]);
    expect(planSteals(s, { ...classic, stealThreshold: 2, maxStealBatch: 10 })).toMatchObject([{ source: "a", target: "b", count: 4 }]);
  });

  it("stealThreshold 1 with a difference of 1 plans nothing instead of an empty steal (defect 8)", () => {
    const s = snapshot([agent("a", { workload: { queued: 1, cpu: 90 } }), agent("b", { workload: { cpu: 10 } })], { a: tasks("a", 1) });
    expect(planSteals(s, { ...classic, stealThreshold: 1, minTasksToSteal: 1 })).toEqual([]);
  });

  it("never picks a target that cannot run the tail's required capabilities (defect 6)", () => {
    const agents = [agent("a", { workload: { queued: 12 } }), agent("b", { capabilities: ["cpu"] })];
    const tails = { a: tasks("a", 12, { requiredCapabilities: ["gpu"] }) };
    expect(planSteals(snapshot(agents, tails), classic)).toEqual([]);
    const withGpu = [...agents, agent("c", { capabilities: ["gpu"] })];
    expect(planSteals(snapshot(withGpu, tails), classic)).toMatchObject([{ source: "a", target: "c", count: 5 }]);
  });

  it("capability match is the share of tail tasks the target can run; it ranks targets, and count never exceeds what it can run", () => {
    const tail = [...tasks("g", 3, { requiredCapabilities: ["gpu"] }), ...tasks("p", 2)];
    const s = snapshot([agent("a", { workload: { queued: 12 } }), agent("b")], { a: tail });
    const plan = planSteals(s, classic);
    // 0.4 × 2/5 + 0.4 × 1 = 0.56; only the 2 plain tasks can go.
    expect(plan).toMatchObject([{ target: "b", count: 2 }]);
    expect(plan[0]!.reason).toContain("score 0.56");
    expect(
      projectDirectives(s, plan)
        .tails.b!.map((t) => t.id)
        .sort(),
    ).toEqual(["p0", "p1"]);
    // Of two idle targets, the one that can run more of the tail is chosen.
    const both = snapshot([agent("a", { workload: { queued: 12 } }), agent("b"), agent("c", { capabilities: ["gpu"] })], { a: tail });
    expect(planSteals(both, classic)).toMatchObject([{ target: "c", count: 5 }]);
  });

  it("a target that can run only a few of the newest tasks still takes those (capability match is no veto)", () => {
    // The leader's 40-task tail: 37 need a GPU the idle agent lacks, 3 do not. The original
    // score (0.4 × 3/40 + 0.4 = 0.43) fell under the 0.5 cut-off and nothing moved.
    const tail = [...tasks("g", 20, { requiredCapabilities: ["gpu"] }), ...tasks("p", 3), ...tasks("h", 17, { requiredCapabilities: ["gpu"] })];
    const s = snapshot([agent("a", { capabilities: ["gpu"], workload: { queued: 100, running: 1 } }), agent("b")], { a: tail });
    const plan = planSteals(s, config("classic"));
    expect(plan).toMatchObject([{ source: "a", target: "b", count: 3 }]);
    expect(projectDirectives(s, plan).tails.b!.map((t) => t.id)).toEqual(["p2", "p1", "p0"]);
    // 1 of 5 runnable: score 0.08 + 0.4 = 0.48, yet the load difference alone clears the cut-off.
    const s2 = snapshot([agent("a", { workload: { queued: 12 } }), agent("b")], { a: [...tasks("g", 4, { requiredCapabilities: ["gpu"] }), ...tasks("p", 1)] });
    expect(planSteals(s2, classic)).toMatchObject([{ source: "a", target: "b", count: 1 }]);
  });

  it("two overloaded sources do not both pick the same idle target (defect 4)", () => {
    const busy = (id: string) => agent(id, { workload: { queued: 12 } });
    const tails = { a: tasks("a", 12), c: tasks("c", 12) };
    expect(planSteals(snapshot([busy("a"), agent("b"), busy("c")], tails), classic)).toMatchObject([{ source: "a", target: "b", count: 5 }]);
    expect(planSteals(snapshot([busy("a"), agent("b"), busy("c"), agent("d")], tails), classic)).toMatchObject([
      { source: "a", target: "b", count: 5 },
      { source: "c", target: "d", count: 5 },
    ]);
  });

  it("planning again on the projected snapshot does not repeat the steal (defect 3)", () => {
    const s = snapshot([agent("a", { workload: { queued: 12 } }), agent("b")], { a: tasks("a", 12) });
    const first = planSteals(s, classic);
    expect(first).toHaveLength(1);
    expect(planSteals(projectDirectives(s, first), classic)).toEqual([]);
  });

  it("only alive agents take part; thresholds are options (defect 5); priority breaks a tie", () => {
    const tails = { a: tasks("a", 12), d: tasks("d", 12) };
    const s = snapshot(
      [
        agent("a", { workload: { queued: 12 } }),
        agent("b", { status: "dead" }),
        agent("c", { status: "draining" }),
        agent("d", { status: "draining", workload: { queued: 12 } }),
      ],
      tails,
    );
    expect(planSteals(s, classic)).toEqual([]);
    const idle = [agent("b"), agent("c", { priority: 100 })];
    expect(planSteals(snapshot([agent("a", { workload: { queued: 12 } }), ...idle], tails), classic)).toMatchObject([{ target: "c" }]);
    const six = snapshot([agent("a", { workload: { queued: 6 } }), agent("b")], { a: tasks("a", 6) });
    expect(planSteals(six, classic)).toEqual([]);
    expect(planSteals(six, { ...classic, overloadedTaskCount: 4 })).toMatchObject([{ source: "a", target: "b", count: 3 }]);
  });

  it("respects minTasksToSteal and enabled", () => {
    const s = snapshot([agent("a", { workload: { queued: 2, running: 8 } }), agent("b")], { a: tasks("a", 2) });
    expect(planSteals(s, { ...classic, minTasksToSteal: 3 })).toEqual([]);
    expect(planSteals(s, classic)).toMatchObject([{ count: 2 }]);
    expect(planSteals(s, { ...classic, enabled: false })).toEqual([]);
  });
});
