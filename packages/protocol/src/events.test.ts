import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { durationSquare, effectsOf, SQUARED_DURATION_CAP_MS } from "./effects.js";
import { commonEvent } from "./event-fast-path.js";
import { encodeEvent, EventSchema, parseEventEntry, type WorkstealEvent } from "./events.js";

const at = 1_700_000_000_000;

describe("parseEventEntry", () => {
  it("round-trips every kind", () => {
    const events: WorkstealEvent[] = [
      { kind: "task:assigned", taskId: "t1", agentId: "a1", epoch: 1, at },
      { kind: "task:started", taskId: "t1", agentId: "a1", epoch: 1, attempt: 1, restarted: false, at },
      { kind: "task:completed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 12, at },
      // The event ending a task's first finished run carries the wait of its first start.
      { kind: "task:completed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 12, waitMs: 40, at },
      { kind: "task:failed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 12, final: true, error: "e", at },
      {
        kind: "task:failed",
        taskId: "t1",
        agentId: "a1",
        taskType: "x",
        epoch: 1,
        durationMs: 0,
        final: true,
        error: "e",
        fromState: "running",
        waitMs: 40,
        at,
      },
      { kind: "task:cancelled", taskId: "t1", agentId: "a1", fromState: "queued", epoch: 2, waitMs: 40, at },
      { kind: "task:stolen", taskId: "t1", from: "a1", to: "a2", epoch: 2, directiveId: "d1", at },
      { kind: "agent:registered", agentId: "a1", capabilities: [], concurrency: 1, priority: 0, at },
      { kind: "agent:metrics", agentId: "a1", cpu: 5, memoryMb: 100, at },
      { kind: "agent:heartbeat", agentId: "a1", at },
    ];
    for (const event of events) expect(parseEventEntry(encodeEvent(event))).toEqual({ ok: true, event });
  });

  it("refuses extra fields, so a typo is not silently ignored", () => {
    const entry = ["event", JSON.stringify({ kind: "agent:heartbeat", agentId: "a1", at, extra: 1 })];
    expect(parseEventEntry(entry)).toMatchObject({ ok: false });
  });

  it("never throws, whatever the fields", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 6 }), (fields) => {
        const parsed = parseEventEntry(fields);
        if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(0);
      }),
    );
  });
});

describe("commonEvent, the fast path for the events every task appends", () => {
  const common: Array<Record<string, unknown>> = [
    { kind: "task:assigned", taskId: "t1", agentId: "a1", epoch: 1, at },
    { kind: "task:started", taskId: "t1", agentId: "a1", epoch: 1, attempt: 1, restarted: false, waitMs: 40, at },
    { kind: "task:started", taskId: "t1", agentId: "a1", epoch: 2, attempt: 2, restarted: true, at },
    { kind: "task:completed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 12.5, at },
    { kind: "task:completed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 12.5, waitMs: 40, at },
  ];

  it("takes the events the task scripts write, fields in the schema's order whatever their order in the JSON", () => {
    for (const event of common) {
      const reversed = Object.fromEntries(Object.entries(event).reverse());
      const taken = commonEvent(reversed);
      expect(taken).toEqual(event);
      expect(Object.keys(taken!)).toEqual(Object.keys(EventSchema.parse(reversed)));
    }
  });

  it("accepts nothing EventSchema refuses, and gives what EventSchema gives", () => {
    const values = fc.oneof(
      fc.constantFrom("t1", "a1", "x", "", "a:b", "a b", "\ud83d", "😀", "a".repeat(64), "a".repeat(65), "a".repeat(128), "a".repeat(129)),
      fc.constantFrom(0, -0, 1, -1, 1.5, 2 ** 53, 2 ** 53 - 1, 7 * 24 * 3600 * 1000, 7 * 24 * 3600 * 1000 + 1, Number.NaN, Infinity),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant([]),
    );
    const keys = fc.constantFrom("kind", "taskId", "agentId", "taskType", "epoch", "attempt", "restarted", "waitMs", "durationMs", "at", "extra");
    const mutation = fc.oneof(
      fc.record({ remove: keys }),
      fc.record({ set: keys, value: values }),
      fc.record({ set: fc.constant("kind"), value: fc.constantFrom("task:assigned", "task:started", "task:completed", "agent:heartbeat") }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...common), fc.array(mutation, { maxLength: 3 }), (base, mutations) => {
        const json: Record<string, unknown> = { ...base };
        for (const m of mutations) {
          if ("remove" in m) delete json[m.remove];
          else json[m.set] = m.value;
        }
        const taken = commonEvent(json);
        if (taken === undefined) return;
        const parsed = EventSchema.safeParse(json);
        expect(parsed.success, JSON.stringify(json)).toBe(true);
        expect(taken).toEqual(parsed.data);
        expect(Object.keys(taken)).toEqual(Object.keys(parsed.data!));
      }),
      { numRuns: 5000 },
    );
  });
});

describe("effectsOf", () => {
  it("adds a run time's square, in whole ms, capped so that each stays an exact integer", () => {
    expect(durationSquare(250.4)).toBe(62_500);
    expect(durationSquare(7 * 24 * 3600 * 1000)).toBe(SQUARED_DURATION_CAP_MS ** 2);
    expect(Number.isSafeInteger(SQUARED_DURATION_CAP_MS ** 2)).toBe(true);
    const own = effectsOf({ kind: "agent:duration", agentId: "a", taskType: "x", durationMs: 30, at }).incr;
    expect(own).toContainEqual(["workload:a", "durationSqSum", 900]);
  });

  it("folds what only events know: a task's path nets to one done, one steal each way, and no queued or running count", () => {
    const path: WorkstealEvent[] = [
      { kind: "task:assigned", taskId: "t", agentId: "a", epoch: 1, at },
      { kind: "task:stolen", taskId: "t", from: "a", to: "b", epoch: 2, directiveId: "d", at },
      { kind: "task:started", taskId: "t", agentId: "b", epoch: 2, attempt: 1, restarted: false, at },
      { kind: "task:failed", taskId: "t", agentId: "b", taskType: "x", epoch: 2, durationMs: 1, final: false, error: "", at },
      { kind: "task:started", taskId: "t", agentId: "b", epoch: 2, attempt: 2, restarted: false, at },
      { kind: "task:started", taskId: "t", agentId: "b", epoch: 2, attempt: 3, restarted: true, at },
      { kind: "task:completed", taskId: "t", agentId: "b", taskType: "x", epoch: 2, durationMs: 1, at },
    ];
    const totals = new Map<string, number>();
    for (const e of path) for (const [key, field, delta] of effectsOf(e).incr) totals.set(`${key}.${field}`, (totals.get(`${key}.${field}`) ?? 0) + delta);
    expect(Object.fromEntries(totals)).toEqual({
      "workload:a.stolenOut": 1,
      "workload:b.stolenIn": 1,
      "workload:b.done": 1,
      "workload:b.durationSumMs": 1,
      "workload:b.durationCount": 1,
      "workload:b.durationSqSum": 1,
      "durations.x:sum": 1,
      "durations.x:count": 1,
    });
  });
});
