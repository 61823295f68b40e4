import { describe, expect, it } from "vitest";
import { POLICY_NAMES, runMatrix } from "./matrix.js";
import { SCENARIOS } from "./scenarios.js";

const settings = {
  seed: 7,
  stealIntervalMs: 1000,
  eventLagMs: 50,
  moveCostMs: 5,
  eventRounds: true,
  idleGate: true,
  config: { enabled: true, stealThreshold: 2, maxStealBatch: 10, minTasksToSteal: 2 },
};

describe("runMatrix", () => {
  it("runs every scenario under every policy, none below the lower bound, and stealing moves nothing without it", () => {
    const rows = runMatrix(SCENARIOS, POLICY_NAMES, settings);
    expect(rows).toHaveLength(SCENARIOS.length * POLICY_NAMES.length);
    for (const row of rows) expect(row.ratio, `${row.scenario} ${row.policy}`).toBeGreaterThanOrEqual(1);
    expect(rows.filter((r) => r.policy === "none" || r.policy === "shared" || r.policy === "lpt").every((r) => r.movesPerTask === 0)).toBe(true);
  });

  it("is the same for the same seed", () => {
    const scenarios = SCENARIOS.slice(0, 2);
    expect(runMatrix(scenarios, ["balanced"], settings)).toEqual(runMatrix(scenarios, ["balanced"], settings));
  });
});
