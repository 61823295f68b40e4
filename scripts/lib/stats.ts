/** The figures the benches and soaks report, computed one way for all of them. */

/** Nearest-rank quantile, `q` from 0 to 1: a value that was measured, never one between two. Undefined for no values. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The nearest-rank median (the lower of the two middle values of an even count). */
export function median(values: readonly number[]): number | undefined {
  return quantile(values, 0.5);
}

/** The largest value; undefined for no values. */
export function maximum(values: Iterable<number>): number | undefined {
  let largest: number | undefined;
  for (const value of values) if (largest === undefined || value > largest) largest = value;
  return largest;
}

/** `numerator / denominator` to three decimals, as every report prints a ratio. */
export function ratio(numerator: number, denominator: number): number {
  return Number((numerator / denominator).toFixed(3));
}
