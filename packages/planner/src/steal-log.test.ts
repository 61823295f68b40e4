import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { secs } from "./steal-log.js";

const asToFixed = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

describe("secs", () => {
  it("writes what toFixed(1) writes, near halves and far from them", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, min: -1e7, max: 1e12 }), (ms) => secs(ms) === asToFixed(ms)),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: -3, max: 3 }), (hundredths, nudge) => {
        // Around every x.x5 second: where rounding could pick either neighbour.
        const ms = hundredths * 50 + nudge * 1e-9;
        return secs(ms) === asToFixed(ms);
      }),
      { numRuns: 20_000 },
    );
  });

  it("leaves the cases it does not write itself to toFixed", () => {
    for (const ms of [-1250, Number.POSITIVE_INFINITY, 1e20, 0, 49.999, 50, 950, 1049.99]) expect(secs(ms)).toBe(asToFixed(ms));
  });
});
