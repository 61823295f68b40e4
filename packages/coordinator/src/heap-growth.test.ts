import { describe, expect, it } from "vitest";
import { boundHeapGrowth } from "./heap-growth.js";

describe("boundHeapGrowth", () => {
  it("leaves a heap growing factor set on node's command line as it is", () => {
    expect(boundHeapGrowth(["--heap-growing-percent=60"])).toBe(false);
    expect(boundHeapGrowth(["--enable-source-maps", "--heap_growing_percent=60"])).toBe(false);
  });

  it("sets its own when the command line has none", () => {
    expect(boundHeapGrowth(["--enable-source-maps", "--heap-growing-percentage-of-nothing"])).toBe(true);
  });
});
