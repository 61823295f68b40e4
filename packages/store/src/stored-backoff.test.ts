import { describe, expect, it } from "vitest";
import { storedBackoffText } from "@worksteal/protocol";
import { parseStoredBackoff } from "./stored-backoff.js";

const BACKOFF = { type: "exponential", delayMs: 200, maxDelayMs: 60_000, jitter: 0.5 } as const;

describe("parseStoredBackoff", () => {
  it("parses a record's backoff once per distinct text and shares the frozen result", () => {
    const text = storedBackoffText(BACKOFF);
    const first = parseStoredBackoff(text);
    expect(first).toEqual(BACKOFF);
    expect(Object.isFrozen(first)).toBe(true);
    expect(parseStoredBackoff(text)).toBe(first);
    expect(parseStoredBackoff(storedBackoffText({ type: "fixed", delayMs: 5, maxDelayMs: 5, jitter: 0 }))).toEqual({
      type: "fixed",
      delayMs: 5,
      maxDelayMs: 5,
      jitter: 0,
    });
  });

  it("keeps the default backoff well under Redis's 64-byte listpack value", () => {
    expect(storedBackoffText(BACKOFF)).toBe('["exponential",200,60000,0.5]');
  });

  it("reads the object form records written before hold", () => {
    expect(parseStoredBackoff(JSON.stringify(BACKOFF))).toEqual(BACKOFF);
  });

  it("still rejects a backoff that is not valid", () => {
    expect(() => parseStoredBackoff(JSON.stringify({ type: "linear", delayMs: 1 }))).toThrow();
    expect(() => parseStoredBackoff(JSON.stringify(["linear", 1, 1, 0]))).toThrow();
    expect(() => parseStoredBackoff(JSON.stringify(["fixed", -1, 1, 0]))).toThrow();
    expect(() => parseStoredBackoff(JSON.stringify(["fixed", 1, 1, 0, "more"]))).toThrow();
    expect(() => parseStoredBackoff("not json")).toThrow();
  });
});
