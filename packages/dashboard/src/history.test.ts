import { describe, expect, it } from "vitest";
import { History, quantile } from "./history.js";

describe("history", () => {
  it("takes the nearest-rank quantile, null without values", () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([7], 0.95)).toBe(7);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBe(10);
  });

  it("keeps the points of its window, each with its waits' p50 and p95", () => {
    const history = new History(10_000);
    history.add(1_000, 5, [30, 10, 20]);
    history.add(6_000, 7, []);
    history.add(12_000, 9, [100]);
    expect(history.current).toEqual({ at: [6, 12], throughput: [7, 9], waitP50: [null, 100], waitP95: [null, 100] });
  });
});
