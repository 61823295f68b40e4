import { describe, expect, it } from "vitest";
import { durationSpread, MAX_AGENT_SPREAD } from "./durations.js";
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

  it("is the squared coefficient of variation, each agent's about its own average, averaged over the agents by their runs", () => {
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

describe("durationSpread against outliers and partial histories", () => {
  const steady = (id: string) => ran(id, [900, 1100, 900, 1100, 900, 1100, 900, 1100, 900, 1100]);

  it("lets no one agent's outlier set the fleet's spread: 99 steady agents and one with a run of 2^26 ms", () => {
    const fleet = [...Array.from({ length: 99 }, (_, i) => steady(`s${i}`)), ran("hung", [...Array<number>(9).fill(1000), 2 ** 26])];
    // Each steady agent spreads 0.01; the outlier's spread counts MAX_AGENT_SPREAD, for its 10 runs of 1,000.
    expect(durationSpread(fleet)).toBeCloseTo((990 * 0.01 + 10 * MAX_AGENT_SPREAD) / 1000, 10);
  });

  it("caps a hand-edited agent's squares: the spread stays finite", () => {
    const edited = agent("e", { workload: { durationCount: 10, durationSumMs: 10_000, durationSqSum: 1.7e308 } });
    expect(durationSpread([edited])).toBe(MAX_AGENT_SPREAD);
    expect(durationSpread([edited, steady("s")])).toBeCloseTo((MAX_AGENT_SPREAD + 0.01) / 2, 10);
  });

  it("leaves out an agent whose squares fall short of its sum's (folded before they were counted, or started over)", () => {
    // 10 runs, sum 10 s, but squares for only 2 of them: below 10 × (1 s)², the least possible.
    const partial = agent("p", { workload: { durationCount: 10, durationSumMs: 10_000, durationSqSum: 2_000_000 } });
    expect(durationSpread([partial, steady("s")])).toBeCloseTo(0.01, 10);
  });
});
