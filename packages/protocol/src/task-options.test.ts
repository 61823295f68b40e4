import { describe, expect, it } from "vitest";
import { TaskSpecSchema } from "./task.js";
import { backoffDelayMs, BackoffSchema, bullPriorityOf, MAX_ESTIMATED_DURATION_MS, MAX_TASK_PRIORITY } from "./task-options.js";

describe("backoffDelayMs", () => {
  const exponential = BackoffSchema.parse({ type: "exponential", delayMs: 100, maxDelayMs: 1000 });

  it("doubles from delayMs with each failed attempt, up to maxDelayMs", () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(exponential, attempt, 0.5))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelayMs(BackoffSchema.parse({ type: "fixed", delayMs: 250 }), 7, 0.9)).toBe(250);
  });

  it("takes up to `jitter` of the delay off at random", () => {
    const jittered = BackoffSchema.parse({ type: "fixed", delayMs: 1000, jitter: 0.5 });
    expect(backoffDelayMs(jittered, 1, 0)).toBe(1000);
    expect(backoffDelayMs(jittered, 1, 0.5)).toBe(750);
    expect(backoffDelayMs(jittered, 1, 0.998)).toBe(501);
  });

  it("refuses a bad backoff naming the field", () => {
    expect(BackoffSchema.safeParse({ type: "fixed", delayMs: 1, jitter: 2 }).error?.issues[0]?.path).toEqual(["jitter"]);
    expect(BackoffSchema.safeParse({ type: "linear", delayMs: 1 }).error?.issues[0]?.path).toEqual(["type"]);
  });
});

describe("bullPriorityOf", () => {
  it("maps 0..1000 onto BullMQ's 1001..1, reversed, never 0 (BullMQ's 'no priority', which would run first)", () => {
    expect(bullPriorityOf(MAX_TASK_PRIORITY)).toBe(1);
    expect(bullPriorityOf(0)).toBe(1001);
    expect(bullPriorityOf(10)).toBeGreaterThan(bullPriorityOf(11));
  });
});

describe("estimatedDurationMs", () => {
  it("is at most MAX_ESTIMATED_DURATION_MS, refused naming the field", () => {
    expect(TaskSpecSchema.safeParse({ id: "t", estimatedDurationMs: MAX_ESTIMATED_DURATION_MS }).success).toBe(true);
    for (const estimatedDurationMs of [MAX_ESTIMATED_DURATION_MS + 1, 1e300, Infinity]) {
      const refused = TaskSpecSchema.safeParse({ id: "t", estimatedDurationMs });
      expect(refused.success, String(estimatedDurationMs)).toBe(false);
      expect(refused.error?.issues[0]?.path).toEqual(["estimatedDurationMs"]);
    }
    expect(TaskSpecSchema.safeParse({ id: "t", estimatedDurationMs: 1e300 }).error?.issues[0]?.message).toMatch(/estimatedDurationMs must be at most/);
  });
});
