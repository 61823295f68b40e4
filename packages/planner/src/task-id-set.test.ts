import fc from "fast-check";
import { expect, it } from "vitest";
import { TaskIdSet } from "./task-id-set.js";

it("TaskIdSet.add says what a Set says, ids colliding or not, up to its capacity", () => {
  // A tiny alphabet makes repeats and shared hash slots common.
  const id = fc.stringMatching(/^[ab.-]{1,6}$/);
  fc.assert(
    fc.property(fc.array(id, { maxLength: 200 }), (ids) => {
      const table = new TaskIdSet(ids.length);
      const set = new Set<string>();
      for (const x of ids) {
        const size = set.size;
        expect(table.add(x)).toBe(set.add(x).size > size);
      }
    }),
  );
});

it("TaskIdSet refuses an id past its capacity instead of filling up", () => {
  const table = new TaskIdSet(2);
  table.add("a");
  table.add("b");
  expect(() => table.add("c")).toThrow(RangeError);
});
