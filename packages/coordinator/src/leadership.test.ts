import { MIN_LEASE_TTL_MS } from "@worksteal/protocol";
import { describe, expect, it } from "vitest";
import { renewIntervalOf, safetyMarginOf } from "./leadership.js";

describe("the shortest lease the configuration accepts", () => {
  it("leaves a leader two renewals, the second with a safety margin's time to answer, before it stops acting", () => {
    const tooShort: number[] = [];
    for (let ttl = MIN_LEASE_TTL_MS; ttl <= 120_000; ttl++) {
      const actsFor = ttl - safetyMarginOf(ttl);
      if (2 * renewIntervalOf(ttl) + safetyMarginOf(ttl) > actsFor) tooShort.push(ttl);
    }
    expect(tooShort).toEqual([]);
    // Just below the minimum the margin takes a much larger share, and at 50 ms all of it.
    expect(50 - safetyMarginOf(50)).toBe(0);
  });
});
