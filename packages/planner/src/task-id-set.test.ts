import fc from "fast-check";
import { expect, it } from "vitest";
import { TaskIdSet } from "./task-id-set.js";

// A tiny alphabet makes repeats and shared hash slots common.
const id = fc.stringMatching(/^[ab.-]{1,6}$/);

function expectLikeASet(table: TaskIdSet, ids: readonly string[]): void {
  const set = new Set<string>();
  for (const x of ids) {
    const size = set.size;
    expect(table.add(x)).toBe(set.add(x).size > size);
  }
}

it("TaskIdSet.add says what a Set says, ids colliding or not", () => {
  fc.assert(fc.property(fc.array(id, { maxLength: 200 }), (ids) => expectLikeASet(new TaskIdSet(ids.length), ids)));
});

it("TaskIdSet still says what a Set says past its capacity, once its table is full and probes run long", () => {
  // Capacity 1: a table of 16 slots, full after 16 distinct ids; every later probe runs past MAX_PROBES.
  fc.assert(fc.property(fc.array(id, { minLength: 40, maxLength: 200 }), (ids) => expectLikeASet(new TaskIdSet(1), ids)));
  expectLikeASet(
    new TaskIdSet(1),
    Array.from({ length: 100 }, (_, i) => `task-${i % 70}`),
  );
});
