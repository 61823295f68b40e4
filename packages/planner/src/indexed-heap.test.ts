import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IndexedHeap } from "./indexed-heap.js";

interface Item {
  id: number;
  key: number;
}

const before = (a: Item, b: Item) => a.key < b.key || (a.key === b.key && a.id < b.id);
const sorted = (items: Iterable<Item>) => [...items].sort((a, b) => (before(a, b) ? -1 : 1));

describe("IndexedHeap", () => {
  it("first and second follow the order through inserts, removals, clears and key changes, however the heap was sized", () => {
    const op = fc.record({ kind: fc.constantFrom("insert", "insert", "remove", "rekey", "clear"), id: fc.nat(19), key: fc.integer({ min: 0, max: 9 }) });
    fc.assert(
      // Sized for fewer items than it gets, as many, or more: the slots past its items must read as empty.
      fc.property(fc.array(op, { maxLength: 60 }), fc.nat(30), (ops, expectedSize) => {
        const items = Array.from({ length: 20 }, (_, id) => ({ id, key: 0 }));
        const heap = new IndexedHeap<Item>(before, (x) => x.id, items.length, expectedSize);
        const present = new Set<Item>();
        for (const { kind, id, key } of ops) {
          const item = items[id]!;
          if (kind === "clear") {
            heap.clear();
            present.clear();
          } else if (kind === "insert") {
            heap.insert(item);
            present.add(item);
          } else if (kind === "remove") {
            heap.remove(item);
            present.delete(item);
          } else {
            item.key = key;
            heap.update(item);
          }
          const expected = sorted(present);
          expect(heap.size).toBe(expected.length);
          expect(heap.first()).toBe(expected[0]);
          expect(heap.second()).toBe(expected[1]);
          for (const x of items) expect(heap.has(x)).toBe(present.has(x));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("heapify restores the order after the keys of many items changed at once", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 20 }), fc.array(fc.integer({ min: 0, max: 9 })), (keys, rekeys) => {
        const items = keys.map((key, id) => ({ id, key }));
        const heap = new IndexedHeap<Item>(before, (x) => x.id, items.length);
        for (const item of items) heap.insert(item);
        rekeys.forEach((key, i) => (items[i % items.length]!.key = key));
        heap.heapify();
        const expected = sorted(items);
        expect(heap.first()).toBe(expected[0]);
        expect(heap.second()).toBe(expected[1]);
        for (const x of expected) {
          expect(heap.first()).toBe(x);
          heap.remove(x);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("visitWhile visits exactly the items of the order's prefix that the predicate holds for", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 20 }), fc.integer({ min: 0, max: 10 }), (keys, below) => {
        const items = keys.map((key, id) => ({ id, key }));
        const heap = new IndexedHeap<Item>(before, (x) => x.id, items.length);
        for (const item of items) heap.insert(item);
        const visited: Item[] = [];
        heap.visitWhile(
          (x) => x.key < below,
          (x) => visited.push(x),
        );
        expect(sorted(visited)).toEqual(sorted(items.filter((x) => x.key < below)));
      }),
      { numRuns: 200 },
    );
  });
});
