import { describe, expect, it } from "vitest";
import { judgeReadiness, type Readiness, type ReadinessInputs } from "./metrics-readiness.js";

const reasonOf = (readiness: Readiness) => (readiness.ready ? undefined : readiness.reason);

const folding: ReadinessInputs = { foldLoop: { lastReadAt: 1000 }, now: 1200, batchSize: 100, progress: { lag: 2 } };

describe("judgeReadiness", () => {
  it("is ready when the fold loop reads and fewer than five batches wait", () => {
    expect(judgeReadiness(folding)).toEqual({ ready: true, lag: 2 });
    expect(judgeReadiness({ ...folding, progress: { lag: 499 } })).toEqual({ ready: true, lag: 499 });
  });

  it("is not ready while five batches or more wait", () => {
    expect(judgeReadiness({ ...folding, progress: { lag: 500 } })).toMatchObject({ ready: false, lag: 500 });
    expect(reasonOf(judgeReadiness({ ...folding, progress: { lag: 500 } }))).toBe("catching up: 500 events to fold (ready below 500)");
  });

  it("is not ready before the first fold read returns, nor when reads stopped returning", () => {
    expect(reasonOf(judgeReadiness({ ...folding, foldLoop: { lastReadAt: undefined } }))).toBe("no fold read has returned yet");
    expect(reasonOf(judgeReadiness({ ...folding, now: 1000 + 10_001 }))).toBe("no fold read has returned for 10001 ms");
  });
});
