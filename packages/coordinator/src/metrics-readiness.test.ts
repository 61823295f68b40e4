import { describe, expect, it } from "vitest";
import { judgeReadiness, type Readiness, type ReadinessInputs } from "./metrics-readiness.js";

const reasonOf = (readiness: Readiness) => (readiness.ready ? undefined : readiness.reason);

const folding: ReadinessInputs = { foldLoop: { lastReadAt: 1000, lastReadCount: 3 }, now: 1200, batchSize: 100, progress: { pending: 2, undelivered: 0 } };

describe("judgeReadiness", () => {
  it("is ready when the fold loop reads and fewer than five batches wait", () => {
    expect(judgeReadiness(folding)).toEqual({ ready: true, lag: 2 });
    expect(judgeReadiness({ ...folding, progress: { pending: 100, undelivered: 399 } })).toEqual({ ready: true, lag: 499 });
  });

  it("is not ready while five batches or more wait, pending or undelivered", () => {
    expect(judgeReadiness({ ...folding, progress: { pending: 0, undelivered: 500 } })).toMatchObject({ ready: false, lag: 500 });
    expect(reasonOf(judgeReadiness({ ...folding, progress: { pending: 500, undelivered: 0 } }))).toBe("catching up: 500 events to fold (ready below 500)");
  });

  it("is not ready before the first fold read returns, nor when reads stopped returning", () => {
    expect(reasonOf(judgeReadiness({ ...folding, foldLoop: { lastReadAt: undefined, lastReadCount: 0 } }))).toBe("no fold read has returned yet");
    expect(reasonOf(judgeReadiness({ ...folding, now: 1000 + 10_001 }))).toBe("no fold read has returned for 10001 ms");
  });

  it("without Redis's lag figure, trusts the last read: a full batch means more may wait", () => {
    const unknown = { pending: 0, undelivered: undefined };
    expect(judgeReadiness({ ...folding, progress: unknown })).toEqual({ ready: true, lag: null });
    expect(judgeReadiness({ ...folding, progress: unknown, foldLoop: { lastReadAt: 1000, lastReadCount: 100 } })).toMatchObject({ ready: false, lag: null });
  });
});
