import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TaskSpecSchema } from "./task.js";
import { commonTaskSpec, safeParseTaskSpec } from "./task-fast-path.js";
import { MAX_WAIT_MS } from "./task-options.js";

const backoff = { type: "exponential", delayMs: 200, maxDelayMs: 60_000, jitter: 0.5 };

describe("commonTaskSpec, the fast path for submitted tasks", () => {
  const common: Array<Record<string, unknown>> = [
    { id: "t1" },
    { id: "t1", type: "noop", payload: {}, maxAttempts: 3, backoff },
    { id: "t.2-x_y", type: "render", payload: { n: [1, "a", null] }, requiredCapabilities: ["gpu"], priority: 7, estimatedDurationMs: 12.5 },
    { id: "t3", payload: "text", maxAttempts: 1, backoff: { type: "fixed", delayMs: 0 }, timeoutMs: 1000, delayMs: 50 },
    { id: "t4", runAt: 1_700_000_000_000, priority: 1000 },
  ];

  it("takes the tasks clients submit, fields in the schema's order and defaults filled in, whatever the input's order", () => {
    for (const task of common) {
      const reversed = Object.fromEntries(Object.entries(task).reverse());
      const taken = commonTaskSpec(reversed);
      const parsed = TaskSpecSchema.parse(reversed);
      expect(taken).toEqual(parsed);
      expect(Object.keys(taken!)).toEqual(Object.keys(parsed));
      expect(Object.keys(taken!.backoff ?? {})).toEqual(Object.keys(parsed.backoff ?? {}));
    }
  });

  it("copies the capabilities and backoff it was given, as the schema does, and keeps the payload", () => {
    const input = { id: "t1", payload: { deep: 1 }, requiredCapabilities: ["a"], backoff: { type: "fixed", delayMs: 5 } };
    const taken = commonTaskSpec(input)!;
    expect(taken.requiredCapabilities).not.toBe(input.requiredCapabilities);
    expect(taken.backoff).not.toBe(input.backoff);
    expect(taken.payload).toBe(input.payload);
  });

  it("accepts nothing TaskSpecSchema refuses, and gives what TaskSpecSchema gives", () => {
    const values = fc.oneof(
      fc.constantFrom("t1", "noop", "", "a:b", "a b", "\ud83d", "😀", "a".repeat(64), "a".repeat(65), "a".repeat(128), "a".repeat(129)),
      fc.constantFrom(0, -0, 1, -1, 1.5, 100, 101, 1000, 1001, 2 ** 53, 2 ** 53 - 1, MAX_WAIT_MS, MAX_WAIT_MS + 1, Number.NaN, Infinity),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.constantFrom(
        [],
        ["gpu"],
        [""],
        [1],
        new Array(2),
        Array.from({ length: 33 }, () => "c"),
      ),
      fc.constantFrom(
        backoff,
        { type: "fixed", delayMs: 1 },
        { type: "linear", delayMs: 1 },
        { type: "fixed", delayMs: 1, jitter: 2 },
        { type: "fixed", delayMs: 1, x: 1 },
      ),
      fc.constantFrom({}, { a: 1n }, { f: () => 1 }, Object.create(null) as object, "x".repeat(70_000)),
    );
    const fields = [...Object.keys(TaskSpecSchema.shape), "extra"];
    const keys = fc.constantFrom(...fields);
    const agrees = (input: Record<string, unknown>) => {
      const taken = commonTaskSpec(input);
      if (taken === undefined) return;
      const parsed = TaskSpecSchema.safeParse(input);
      expect(parsed.success, fc.stringify(input)).toBe(true);
      expect(taken).toEqual(parsed.data);
      expect(Object.keys(taken)).toEqual(Object.keys(parsed.data!));
    };
    // Every bound, on every field, once each.
    const bounds = [-1, -0, 0, 1, 1.5, 32, 33, 64, 65, 100, 101, 128, 129, 1000, 1001, MAX_WAIT_MS, MAX_WAIT_MS + 1, 2 ** 53 - 1, 2 ** 53, Infinity];
    for (const base of common) for (const key of fields) for (const value of bounds) agrees({ ...base, [key]: value });
    const mutation = fc.oneof(fc.record({ remove: keys }), fc.record({ set: keys, value: values }));
    fc.assert(
      fc.property(fc.constantFrom(...common), fc.array(mutation, { maxLength: 3 }), (base, mutations) => {
        const input: Record<string, unknown> = { ...base };
        for (const m of mutations) {
          if ("remove" in m) delete input[m.remove];
          else input[m.set] = m.value;
        }
        agrees(input);
      }),
      { numRuns: 5000 },
    );
  });
});

describe("safeParseTaskSpec", () => {
  it("gives the schema's verdict and reason for what the fast path leaves", () => {
    const refused = safeParseTaskSpec({ id: "t1", delayMs: 5, runAt: 5 });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toBe("set delayMs or runAt, not both");
    expect(safeParseTaskSpec({ id: "t1", extra: 1 })).toEqual({ success: true, data: TaskSpecSchema.parse({ id: "t1" }), payloadJson: "null" });
  });

  it("gives the payload's JSON on both paths, as JSON.stringify makes it", () => {
    const payload = { n: 1, s: 'é/"', list: [null, true] };
    expect(safeParseTaskSpec({ id: "t1", payload })).toMatchObject({ success: true, payloadJson: JSON.stringify(payload) });
    expect(safeParseTaskSpec({ id: "t1", payload, extra: 1 })).toMatchObject({ success: true, payloadJson: JSON.stringify(payload) });
  });
});
