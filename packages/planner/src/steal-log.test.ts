import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { secs, StealLog } from "./steal-log.js";

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

describe("StealLog.directives", () => {
  it("writes each directive's four drains as toFixed(1) seconds, with drains repeating across directives (each text is written once)", () => {
    // Drains from a few values, so that texts repeat and the cache is read as often as written.
    const drainArb = fc.oneof(
      fc.constantFrom(0, 49.999, 50, 950, 1049.99, 1234.5, 99_950, -1250),
      fc.integer({ min: 0, max: 300 }).map((tenths) => tenths * 100),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(3), fc.array(drainArb, { minLength: 4, maxLength: 4 })), { maxLength: 20 }), (moves) => {
        const ids = ["a", "b", "c", "d"];
        const log = new StealLog(ids, 1);
        moves.forEach(([source, target, drains], i) => {
          if (source !== target) log.record(source, target, `t${i}`, Float64Array.from(drains));
        });
        const expected = moves
          .filter(([source, target]) => source !== target)
          .map(
            ([source, target, [bs, bt, as, at]]) =>
              `balanced: drain ${ids[source]} ${asToFixed(bs!)}->${asToFixed(as!)}, ${ids[target]} ${asToFixed(bt!)}->${asToFixed(at!)}`,
          );
        expect(log.directives("balanced", 1).map((d) => d.reason)).toEqual(expected);
      }),
      { numRuns: 2_000 },
    );
  });
});
