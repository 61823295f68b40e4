import { describe, expect, it } from "vitest";
import { durationSpread } from "./durations.js";
import { agent } from "./testing.js";

/** An agent whose history is these run times, squares included. */
const ran = (id: string, runs: readonly number[]) =>
  agent(id, {
    workload: {
      durationCount: runs.length,
      durationSumMs: runs.reduce((sum, ms) => sum + ms, 0),
      durationSqSum: runs.reduce((sum, ms) => sum + ms * ms, 0),
    },
  });

describe("durationSpread", () => {
  it("is each agent's spread about its own average: agents of different speeds running constant tasks spread 0", () => {
    expect(durationSpread([ran("slow", Array<number>(10).fill(100)), ran("fast", Array<number>(10).fill(50))])).toBe(0);
  });

  it("is the squared coefficient of variation, pooled over the agents", () => {
    // 9 runs of 50 ms and one of 2 s: mean 245, variance 342,225 → 342,225 / 245² = 5.70…
    const bimodal = [...Array<number>(9).fill(50), 2000];
    expect(durationSpread([ran("a", bimodal)])).toBeCloseTo(3_422_250 / 600_250, 10);
    // A second agent, twice as fast, with the same mix: the same spread.
    expect(
      durationSpread([
        ran("a", bimodal),
        ran(
          "b",
          bimodal.map((ms) => ms / 2),
        ),
      ]),
    ).toBeCloseTo(3_422_250 / 600_250, 10);
  });

  it("is 0 when no agent tells: no squares, or fewer than two runs", () => {
    expect(durationSpread([agent("a", { workload: { durationCount: 10, durationSumMs: 2450 } })])).toBe(0);
    expect(durationSpread([ran("b", [2000])])).toBe(0);
  });
});
