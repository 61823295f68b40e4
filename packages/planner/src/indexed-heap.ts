/**
 * A binary heap of items numbered 0..capacity-1 that knows where each item sits, so that an
 * item can be removed or re-placed after its key changed in O(log n). `before(a, b)` is a strict
 * total order: the first item is the one that comes before all others.
 */
export class IndexedHeap<T> {
  /**
   * The heap's items at 0..count-1; the slots past them are empty (undefined). Sized for the
   * expected size at once: grown by pushes, the array was copied as it grew (10,000 thieves in
   * a round's buckets).
   */
  private readonly items: Array<T | undefined>;
  private count = 0;
  /** Position of each item by number, -1 when absent. */
  private readonly positions: Int32Array;

  /**
   * `positions`: where to keep each item's position, as an array of `capacity` entries, or one
   * shared by heaps that never hold the same item (filled with -1 by whoever creates it).
   * `expectedSize`: how many items it will hold at most, when known (more still fit).
   */
  constructor(
    private readonly before: (a: T, b: T) => boolean,
    private readonly numberOf: (item: T) => number,
    positions: number | Int32Array,
    expectedSize = 0,
  ) {
    this.positions = typeof positions === "number" ? new Int32Array(positions).fill(-1) : positions;
    this.items = new Array<T | undefined>(expectedSize);
  }

  get size(): number {
    return this.count;
  }

  first(): T | undefined {
    return this.items[0];
  }

  /** The item that comes right after the first. */
  second(): T | undefined {
    const left = this.items[1];
    const right = this.items[2];
    return right !== undefined && left !== undefined && this.before(right, left) ? right : left;
  }

  /**
   * Calls `visit` on every item for which `inside` holds, given that it holds for a prefix of the
   * order: a walk from the top that stops where it fails, so it costs the items visited, not the size.
   */
  visitWhile(inside: (item: T) => boolean, visit: (item: T) => void): void {
    this.visitFrom(0, inside, visit);
  }

  private visitFrom(i: number, inside: (item: T) => boolean, visit: (item: T) => void): void {
    const item = this.items[i];
    if (item === undefined || !inside(item)) return;
    visit(item);
    this.visitFrom(2 * i + 1, inside, visit);
    this.visitFrom(2 * i + 2, inside, visit);
  }

  has(item: T): boolean {
    return this.positions[this.numberOf(item)]! >= 0;
  }

  clear(): void {
    for (let i = 0; i < this.count; i += 1) {
      this.positions[this.numberOf(this.items[i]!)] = -1;
      this.items[i] = undefined;
    }
    this.count = 0;
  }

  insert(item: T): void {
    if (this.has(item)) return;
    const at = this.count;
    this.count += 1;
    this.place(item, at);
    this.up(at);
  }

  /**
   * Adds an item without ordering it: filling a heap at once and then heapifying costs O(size),
   * inserting one by one O(size log size). Until heapify runs, the heap is not in order.
   */
  append(item: T): void {
    if (this.has(item)) return;
    const at = this.count;
    this.count += 1;
    this.place(item, at);
  }

  remove(item: T): void {
    const i = this.positions[this.numberOf(item)]!;
    if (i < 0) return;
    this.positions[this.numberOf(item)] = -1;
    this.count -= 1;
    const last = this.items[this.count]!;
    this.items[this.count] = undefined;
    if (i === this.count) return;
    this.place(last, i);
    this.down(this.up(i));
  }

  /** Restores the order after the keys of any number of items changed, in O(size). */
  heapify(): void {
    for (let i = (this.count >> 1) - 1; i >= 0; i -= 1) this.down(i);
  }

  /** Restores the order after the item's key changed. */
  update(item: T): void {
    const i = this.positions[this.numberOf(item)]!;
    if (i >= 0) this.down(this.up(i));
  }

  private place(item: T, i: number): void {
    this.items[i] = item;
    this.positions[this.numberOf(item)] = i;
  }

  private up(i: number): number {
    const item = this.items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = this.items[parent]!;
      if (!this.before(item, above)) break;
      this.place(above, i);
      i = parent;
    }
    this.place(item, i);
    return i;
  }

  private down(i: number): void {
    const item = this.items[i]!;
    const n = this.count;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.before(this.items[child + 1]!, this.items[child]!)) child += 1;
      const below = this.items[child]!;
      if (!this.before(below, item)) break;
      this.place(below, i);
      i = child;
    }
    this.place(item, i);
  }
}
