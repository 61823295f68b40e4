import { describe, expect, it } from "vitest";
import { compareStreamIds } from "./stream-ids.js";

describe("compareStreamIds", () => {
  it("orders by time, then by sequence, as numbers", () => {
    expect(compareStreamIds("10-0", "9-5")).toBeGreaterThan(0);
    expect(compareStreamIds("10-2", "10-11")).toBeLessThan(0);
    expect(compareStreamIds("1732850000000-3", "1732850000000-3")).toBe(0);
  });

  it("reads an id without a sequence as sequence 0", () => {
    expect(compareStreamIds("10", "10-0")).toBe(0);
    expect(compareStreamIds("10", "10-1")).toBeLessThan(0);
  });
});
