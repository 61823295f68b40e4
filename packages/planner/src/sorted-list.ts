/**
 * An array kept sorted by a total order; insert and remove by binary search. An element's sort
 * key must not change while it is in the list (remove it, change it, insert it again).
 */
export class SortedList<T> {
  private readonly items: T[] = [];

  constructor(private readonly compare: (a: T, b: T) => number) {}

  first(): T | undefined {
    return this.items[0];
  }

  /** Elements in order (a live view: do not modify the list while iterating). */
  values(): readonly T[] {
    return this.items;
  }

  insert(item: T): void {
    this.items.splice(this.lowerBound(item), 0, item);
  }

  /** Removes the element if present; true when it was. */
  remove(item: T): boolean {
    for (let i = this.lowerBound(item); i < this.items.length && this.compare(this.items[i]!, item) === 0; i += 1) {
      if (this.items[i] === item) {
        this.items.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  private lowerBound(item: T): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.items[mid]!, item) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
