import { describe, expect, it } from "vitest";
import { Fleet } from "./balancer.js";
import { agent, snapshot } from "./testing.js";
import { DEFAULT_PLANNER_OPTIONS } from "./types.js";

describe("Fleet.duration", () => {
  const s = snapshot([agent("a")], {}, { durationsByType: { t: 1000 }, durationCountsByType: { t: 0 } });
  const task = { id: "x", type: "t", requiredCapabilities: [], estimatedDurationMs: 400 };

  it("with estimateWeight 0 and no completions yet, is the type's average (not 0/0)", () => {
    expect(new Fleet(s, { ...DEFAULT_PLANNER_OPTIONS, estimateWeight: 0 }).duration(task)).toBe(1000);
  });

  it("weighs the estimate as estimateWeight completions", () => {
    expect(new Fleet(s, { ...DEFAULT_PLANNER_OPTIONS, estimateWeight: 3 }).duration(task)).toBe(400);
    const counted = snapshot([agent("a")], {}, { durationsByType: { t: 1000 }, durationCountsByType: { t: 1 } });
    expect(new Fleet(counted, { ...DEFAULT_PLANNER_OPTIONS, estimateWeight: 3 }).duration(task)).toBe(550);
  });
});
