import { describe, expect, it } from "vitest";
import type { Directive } from "@worksteal/protocol";
import { wellFormed } from "./directive-planner.js";

const base: Directive = { id: "f1-r1-1", fence: 1, source: "a", target: "b", count: 2, taskIds: ["t0", "t1"], reason: "test", createdAt: 0 };

describe("wellFormed", () => {
  it("keeps the directives the executor accepts and says why each other one is dropped", () => {
    const repeated = { ...base, id: "f1-r1-2", taskIds: ["t0", "t0"] };
    const huge = { ...base, id: "f1-r1-3", count: 1e9, taskIds: undefined };
    const kept = { ...base, id: "f1-r1-4" };
    const { directives, malformed } = wellFormed([base, repeated, huge, kept]);
    expect(directives).toEqual([base, kept]);
    expect(malformed.map((m) => m.id)).toEqual(["f1-r1-2", "f1-r1-3"]);
    expect(malformed[0]!.reason).toMatch(/taskIds: taskIds must name count distinct tasks/);
    expect(malformed[1]!.reason).toMatch(/^count:/);
  });
});
