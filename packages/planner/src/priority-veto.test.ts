import { describe, expect, it } from "vitest";
import { planSteals } from "./plan.js";
import { projectDirectives } from "./project.js";
import { agent, config, snapshot } from "./testing.js";

const task = (id: string, type: string, init: { estimatedDurationMs?: number; priority?: number } = {}) => ({ id, type, requiredCapabilities: [], ...init });

describe("balanced: a thief that drains later than the first of its bucket may start a priority task sooner", () => {
  // The counterexample of property (d), fast-check seed 1885442041. ag3 and ag4 (2 slots each)
  // share a bucket of thieves; ag3 drains first but holds a task of priority 1000, ahead of
  // ag2's and ag0's tasks of priority 500 and 1000, so it would start them no sooner than their
  // agents do (the priority rule keeps them), while ag4, later, would start them at once. The
  // greedy weighed only the first thief of a bucket: ag2 and ag0 found none, ag1 took ag2-t0,
  // and planning again on the projected snapshot moved ag0-t0 to ag4, then a task back.
  const s = snapshot(
    [
      agent("ag0", { workload: { queued: 2, running: 1 } }),
      agent("ag1", { workload: { queued: 1, running: 1 } }),
      agent("ag2", { workload: { queued: 3, running: 1 } }),
      agent("ag3", { concurrency: 2, workload: { queued: 1, running: 1 } }),
      // A tail longer than the queued count: counts and tails are read at different moments.
      agent("ag4", { concurrency: 2, workload: { queued: 0, running: 0, durationSumMs: 2087, durationCount: 1 } }),
    ],
    {
      ag0: [task("ag0-t0", "a", { priority: 1000 })],
      ag1: [task("ag1-t0", "c")],
      ag2: [task("ag2-t0", "c", { estimatedDurationMs: 0, priority: 500 }), task("ag2-t1", "a", { estimatedDurationMs: 1, priority: 500 })],
      ag3: [task("ag3-t0", "c", { priority: 1000 })],
      ag4: [task("ag4-t0", "c"), task("ag4-t1", "c", { estimatedDurationMs: 0 }), task("ag4-t2", "a", { estimatedDurationMs: 1 })],
    },
    { round: 0, durationsByType: { c: 4173 } },
  );
  const cfg = config("balanced", { stealThreshold: 1, maxStealBatch: 1, minTasksToSteal: 1 });

  it("gives a priority task to a later thief of the bucket in the first round, and plans nothing on the projected snapshot", () => {
    const first = planSteals(s, cfg);
    expect(first.map((d) => [d.source, d.target, d.taskIds])).toContainEqual(["ag2", "ag4", ["ag2-t0"]]);
    expect(planSteals(projectDirectives(s, first), cfg)).toEqual([]);
  });
});
