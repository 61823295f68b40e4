import { describe, expect, it } from "vitest";
import { planSteals } from "./plan.js";
import { projectDirectives } from "./project.js";
import { agent, config, drainTimes, snapshot, tasks } from "./testing.js";
import type { PlannerSnapshot } from "./types.js";

// The fill heading for the water levels (trialTasks 0: every round takes them) against the
// trial's end state (trialTasks: Infinity), on the fleets where the levels once planned later.
const levels = config("balanced", { maxStealBatch: 10, trialTasks: 0 });
const trial = config("balanced", { maxStealBatch: 10, trialTasks: Infinity });
// Enough completions for a speed to be believed (SPEED_EVIDENCE): the slow thief is slow.
const history = (avgMs: number) => ({ durationCount: 1000, durationSumMs: 1000 * avgMs });

function latestFinish(s: PlannerSnapshot, cfg: typeof levels): number {
  return Math.max(...drainTimes(projectDirectives(s, planSteals(s, cfg))).values());
}

/** v runs one task and holds `queued` (the last `big` ms, the rest 1 s); s is slow (`slowMs` a task where the rest take 1 s); `fast` idle agents. */
function fleet(queued: number, big: number, slowMs: number, fast: number): PlannerSnapshot {
  return snapshot(
    [
      agent("v", { workload: { queued, running: 1, ...history(1000) } }),
      agent("s", { workload: history(slowMs) }),
      ...Array.from({ length: fast }, (_, i) => agent(`f${i}`, { workload: history(1000) })),
    ],
    { v: [...tasks("t", queued - 1, { type: "small" }), ...tasks("b", 1, { type: "big" })] },
    { durationsByType: { big, small: 1000 } },
  );
}

describe("balanced with levels: the fill plans no later a finish than the trial", () => {
  it("a slow thief takes no task that would end after the rest of the fleet (half a task past its level, at its group's fastest speed)", () => {
    // The level is where the group's work would end as a fluid: half a 2 s task at s's own speed
    // (about 0.4 of the others') would let it end past everyone else, who cannot take it back.
    const s = fleet(12, 2000, 4500, 3);
    expect(latestFinish(s, levels)).toBeLessThanOrEqual(latestFinish(s, trial));
    const drains = drainTimes(projectDirectives(s, planSteals(s, levels)));
    const rest = [...drains].filter(([id]) => id !== "s").map(([, ms]) => ms);
    expect(drains.get("s")!).toBeLessThan(Math.max(...rest));
  });

  it("a victim gives its large task before its small ones (else the large one may be worth a move to no one)", () => {
    // v can give two tasks: the 4 s one overshoots the idle agents' levels, and the 1 s one
    // went to s instead; with v shorter, no move of the 4 s one passed the margins.
    const s = fleet(2, 4000, 1500, 2);
    expect(planSteals(s, levels).flatMap((d) => d.taskIds ?? [])).toContain("b0");
    expect(latestFinish(s, levels)).toBeLessThanOrEqual(latestFinish(s, trial));
  });

  it("over a range of such fleets, never later than the trial", () => {
    for (const big of [2000, 4000, 8000])
      for (let queued = 2; queued <= 16; queued += 1)
        for (let fast = 1; fast <= 4; fast += 1)
          for (let slowMs = 1500; slowMs <= 6000; slowMs += 1500) {
            const s = fleet(queued, big, slowMs, fast);
            expect(latestFinish(s, levels)).toBeLessThanOrEqual(latestFinish(s, trial) * (1 + 1e-9));
          }
  });
});
