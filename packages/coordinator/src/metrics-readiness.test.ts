import { describe, expect, it } from "vitest";
import type { FoldProgress } from "@worksteal/store";
import { judgeReadiness, type Readiness, type ReadinessInputs } from "./metrics-readiness.js";

const reasonOf = (readiness: Readiness) => (readiness.ready ? undefined : readiness.reason);
/** A fold cursor behind the stream's newest entry by `lag` entries. */
const progressOf = (lag: number): FoldProgress => ({ lag, cursor: "1-0", lastEntryId: "2-0", appended: 10 + lag });

const folding: ReadinessInputs = { foldLoop: { lastReadAt: 1000 }, now: 1200, batchSize: 100, progress: progressOf(2) };

describe("judgeReadiness", () => {
  it("is ready when the fold loop reads and fewer than five batches wait", () => {
    expect(judgeReadiness(folding)).toEqual({ ready: true, lag: 2 });
    expect(judgeReadiness({ ...folding, progress: progressOf(499) })).toEqual({ ready: true, lag: 499 });
  });

  it("is not ready while five batches or more wait", () => {
    expect(judgeReadiness({ ...folding, progress: progressOf(500) })).toMatchObject({ ready: false, lag: 500 });
    expect(reasonOf(judgeReadiness({ ...folding, progress: progressOf(500) }))).toBe("catching up: 500 events to fold (ready below 500)");
  });

  it("is ready when the cursor stands at the newest entry, however many entries deleted unfolded keep the lag up", () => {
    const caughtUp: FoldProgress = { lag: 5000, cursor: "2-0", lastEntryId: "2-0", appended: 5010 };
    expect(judgeReadiness({ ...folding, progress: caughtUp })).toEqual({ ready: true, lag: 5000 });
  });

  it("is not ready before the first fold read returns, nor when reads stopped returning", () => {
    expect(reasonOf(judgeReadiness({ ...folding, foldLoop: { lastReadAt: undefined } }))).toBe("no fold read has returned yet");
    expect(reasonOf(judgeReadiness({ ...folding, now: 1000 + 10_001 }))).toBe("no fold read has returned for 10001 ms");
  });
});
