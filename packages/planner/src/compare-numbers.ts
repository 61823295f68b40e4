/**
 * -1, 0 or 1 as a is below, equal to (or unordered with: NaN) or above b, for comparators. It
 * orders as a - b does (0 exactly where the difference is 0 or NaN) but returns a small integer:
 * a comparator's double result, returned to sort (a builtin), is a heap allocation per
 * comparison, and a round sorts thousands of agents.
 */
export function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
