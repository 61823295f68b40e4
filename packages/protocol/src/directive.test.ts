import { describe, expect, it } from "vitest";
import { DirectiveSchema, MAX_DIRECTIVE_TASKS } from "./directive.js";

const base = { id: "f1-r1-1", fence: 1, source: "a", target: "b", count: 2, reason: "test", createdAt: 0 };

describe("DirectiveSchema", () => {
  it("accepts a directive with or without the tasks it names", () => {
    expect(DirectiveSchema.safeParse(base).success).toBe(true);
    expect(DirectiveSchema.parse({ ...base, taskIds: ["t1", "t2"] }).taskIds).toEqual(["t1", "t2"]);
  });

  it("refuses named tasks that are not count distinct, safe ids", () => {
    for (const taskIds of [["t1"], ["t1", "t1"], ["t1", "t2", "t3"], ["t1", "../x"], [], ["t1", ""]]) {
      expect(DirectiveSchema.safeParse({ ...base, taskIds }).success, JSON.stringify(taskIds)).toBe(false);
    }
    const many = Array.from({ length: MAX_DIRECTIVE_TASKS + 1 }, (_, i) => `t${i}`);
    expect(DirectiveSchema.safeParse({ ...base, count: many.length, taskIds: many }).success).toBe(false);
  });

  it("refuses a count above the bound when it names no tasks", () => {
    expect(DirectiveSchema.safeParse({ ...base, count: MAX_DIRECTIVE_TASKS }).success).toBe(true);
    for (const count of [MAX_DIRECTIVE_TASKS + 1, 1e9]) {
      const refused = DirectiveSchema.safeParse({ ...base, count });
      expect(refused.success, String(count)).toBe(false);
      expect(refused.error?.issues[0]?.path).toEqual(["count"]);
    }
  });
});
