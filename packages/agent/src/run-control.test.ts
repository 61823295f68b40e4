import { describe, expect, it } from "vitest";
import { AttemptTimeoutError, RunSignal, withTimeout } from "./run-control.js";

describe("RunSignal", () => {
  it("hands out one signal, not aborted until the run is", () => {
    const run = new RunSignal();
    expect(run.aborted).toBe(false);
    const signal = run.signal;
    expect(run.signal).toBe(signal);
    const reason = new Error("cancelled");
    run.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    expect(run.aborted).toBe(true);
  });

  it("aborted before the handler reads it: the signal it reads is already aborted, with the reason", () => {
    const run = new RunSignal();
    const reason = new Error("cancelled");
    run.abort(reason);
    expect(run.aborted).toBe(true);
    expect(run.signal.aborted).toBe(true);
    expect(run.signal.reason).toBe(reason);
  });
});

describe("withTimeout", () => {
  it("past the timeout rejects with AttemptTimeoutError and aborts the run's signal", async () => {
    const run = new RunSignal();
    const outcome = withTimeout(() => new Promise<never>(() => undefined), 5, run);
    await expect(outcome).rejects.toBeInstanceOf(AttemptTimeoutError);
    expect(run.signal.aborted).toBe(true);
    expect(run.signal.reason).toBeInstanceOf(AttemptTimeoutError);
  });

  it("without a timeout resolves with the work's value and leaves the signal alone", async () => {
    const run = new RunSignal();
    await expect(withTimeout(() => Promise.resolve(7), undefined, run)).resolves.toBe(7);
    expect(run.aborted).toBe(false);
  });
});
