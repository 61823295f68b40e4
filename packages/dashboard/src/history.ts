/** The charts' series: one point per snapshot, the oldest dropped past the window. */
export interface HistorySeries {
  /** Redis clock, seconds (uPlot's x unit). */
  at: number[];
  /** Tasks finished (done or failed) per second since the previous point. */
  throughput: number[];
  /** Median and 95th percentile wait (queued → started) of the first runs sampled since the previous point, ms; null without any. */
  waitP50: Array<number | null>;
  waitP95: Array<number | null>;
}

/** The value below which `fraction` of the sorted values lie (nearest rank). */
export function quantile(sorted: readonly number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

/** Points of the last `windowMs`; appended in time order. */
export class History {
  private readonly series: HistorySeries = { at: [], throughput: [], waitP50: [], waitP95: [] };

  constructor(private readonly windowMs: number) {}

  add(atMs: number, throughput: number, waitsMs: readonly number[]): void {
    const sorted = [...waitsMs].sort((a, b) => a - b);
    const s = this.series;
    s.at.push(atMs / 1000);
    s.throughput.push(throughput);
    s.waitP50.push(quantile(sorted, 0.5));
    s.waitP95.push(quantile(sorted, 0.95));
    const oldest = (atMs - this.windowMs) / 1000;
    let drop = 0;
    while (drop < s.at.length && s.at[drop]! < oldest) drop += 1;
    if (drop > 0) for (const column of Object.values(s) as unknown[][]) column.splice(0, drop);
  }

  get current(): HistorySeries {
    return this.series;
  }
}
