import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { effectsOf } from "./effects.js";
import { encodeEvent, parseEventEntry, type WorkstealEvent } from "./events.js";

const at = 1_700_000_000_000;

describe("parseEventEntry", () => {
  it("round-trips every kind", () => {
    const events: WorkstealEvent[] = [
      { kind: "task:assigned", taskId: "t1", agentId: "a1", epoch: 1, at },
      { kind: "task:started", taskId: "t1", agentId: "a1", epoch: 1, attempt: 1, restarted: false, at },
      { kind: "task:completed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 12, at },
      { kind: "task:failed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 12, final: true, error: "e", at },
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

describe("effectsOf", () => {
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
      "durations.x:sum": 1,
      "durations.x:count": 1,
    });
  });
});
