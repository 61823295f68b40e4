import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dealDurations, dealtShared } from "./deals.js";
import type { SimTask } from "./model.js";
import { seededRandom } from "./random.js";
import { SCENARIOS } from "./scenarios.js";

const taskArb = fc.record({
  type: fc.constantFrom("a", "b"),
  requiredCapabilities: fc.subarray(["gpu", "ssd"]),
  durationMs: fc.integer({ min: 1, max: 1000 }),
  arrivesAt: fc.integer({ min: 0, max: 100 }),
});

describe("dealDurations", () => {
  it("keeps every task but its duration, and the durations of each type and capability set", () => {
    fc.assert(
      fc.property(fc.array(taskArb, { maxLength: 40 }), fc.integer(), (drawn, seed) => {
        const tasks: SimTask[] = drawn.map((t, i) => ({ ...t, id: `t${i}` }));
        const dealt = dealDurations(tasks, seededRandom(seed));
        expect(dealt.map(({ durationMs: _, ...rest }) => rest)).toEqual(tasks.map(({ durationMs: _, ...rest }) => rest));
        const byClass = (list: readonly SimTask[]) => {
          const classes = new Map<string, number[]>();
          for (const t of list) {
            const key = `${t.type}|${[...t.requiredCapabilities].sort().join(",")}`;
            classes.set(key, [...(classes.get(key) ?? []), t.durationMs]);
          }
          return new Map([...classes].map(([key, ms]) => [key, ms.sort((x, y) => x - y)]));
        };
        expect(byClass(dealt)).toEqual(byClass(tasks));
      }),
    );
  });
});

describe("dealtShared", () => {
  it("is the drawn workload's shared queue again when every duration is the same (even-burst)", () => {
    const even = SCENARIOS.find((s) => s.name === "even-burst")!;
    const [only] = dealtShared(even, [42], 3, 1);
    expect(only).toEqual({ seed: 42, ratios: [1, 1, 1], overDrawn: [1, 1, 1] });
  });

  it("spreads where one long task decides (heavy-tail-placed): the same draw, in other orders, ends earlier and later", () => {
    const heavy = SCENARIOS.find((s) => s.name === "heavy-tail-placed")!;
    const [only] = dealtShared(heavy, [42], 20, 1);
    expect(Math.min(...only!.overDrawn)).toBeLessThan(1);
    expect(Math.max(...only!.overDrawn)).toBeGreaterThan(1);
    for (const r of only!.ratios) expect(r).toBeGreaterThanOrEqual(1);
  });
});
