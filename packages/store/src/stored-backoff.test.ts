import { describe, expect, it } from "vitest";
import { parseStoredBackoff } from "./stored-backoff.js";

const TEXT = JSON.stringify({ type: "exponential", delayMs: 200, maxDelayMs: 60_000, jitter: 0.5 });

describe("parseStoredBackoff", () => {
  it("parses a record's backoff once per distinct text and shares the frozen result", () => {
    const first = parseStoredBackoff(TEXT);
    expect(first).toEqual({ type: "exponential", delayMs: 200, maxDelayMs: 60_000, jitter: 0.5 });
    expect(Object.isFrozen(first)).toBe(true);
    expect(parseStoredBackoff(TEXT)).toBe(first);
    expect(parseStoredBackoff(JSON.stringify({ type: "fixed", delayMs: 5, maxDelayMs: 5, jitter: 0 }))).toMatchObject({ type: "fixed", delayMs: 5 });
  });

  it("still rejects a backoff that is not valid", () => {
    expect(() => parseStoredBackoff(JSON.stringify({ type: "linear", delayMs: 1 }))).toThrow();
    expect(() => parseStoredBackoff("not json")).toThrow();
  });
});
