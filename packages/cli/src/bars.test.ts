import { describe, expect, it } from "vitest";
import { barScale, loadBar } from "./bars.js";

describe("loadBar", () => {
  it("draws running then queued cells on a fixed scale, the rest empty", () => {
    expect(loadBar(2, 3, 10, 10)).toBe("██▒▒▒·····");
    expect(loadBar(0, 0, 10, 10)).toBe("··········");
    // One task on a large scale still shows.
    expect(loadBar(1, 1, 1000, 10)).toBe("█▒········");
    // Past the scale: full, ending in '+'.
    expect(loadBar(8, 8, 10, 10)).toBe("████████▒+");
    // A briefly negative folded count draws nothing.
    expect(loadBar(-1, 2, 10, 10)).toBe("▒▒········");
  });
});

describe("barScale", () => {
  it("grows in 1-2-5 steps and never shrinks", () => {
    expect(barScale(0, 0)).toBe(10);
    expect(barScale(0, 11)).toBe(20);
    expect(barScale(20, 21)).toBe(50);
    expect(barScale(50, 51)).toBe(100);
    expect(barScale(100, 3)).toBe(100);
    expect(barScale(0, 4999)).toBe(5000);
  });
});
