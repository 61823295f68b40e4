import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MaxTree } from "./max-tree.js";

describe("MaxTree", () => {
  it("firstAtLeast finds what a scan finds, through any sets", () => {
    const value = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constant(-Infinity));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }).chain((size) =>
          fc.record({
            size: fc.constant(size),
            sets: fc.array(fc.tuple(fc.nat(Math.max(0, size - 1)), value), { maxLength: 80 }),
            queries: fc.array(fc.tuple(fc.integer({ min: -1, max: size + 1 }), fc.integer({ min: -6, max: 6 })), { maxLength: 20 }),
          }),
        ),
        ({ size, sets, queries }) => {
          const tree = new MaxTree(size);
          const values = new Array<number>(size).fill(-Infinity);
          const check = () => {
            for (const [from, bound] of queries) {
              let expected = -1;
              for (let i = Math.max(0, from); i < size && expected < 0; i += 1) if (values[i]! >= bound) expected = i;
              expect(tree.firstAtLeast(from, bound)).toBe(expected);
            }
          };
          check();
          for (const [position, v] of sets) {
            if (size === 0) break;
            tree.set(position, v);
            values[position] = v;
            expect(tree.get(position)).toBe(v);
            check();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
