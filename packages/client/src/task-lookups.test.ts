import { describe, expect, it } from "vitest";
import { loadConfig } from "@worksteal/config";
import { taskDefaultsOf, withTaskDefaults } from "./task-lookups.js";

describe("task defaults", () => {
  const config = loadConfig({ overrides: { taskMaxAttempts: 5, taskBackoffType: "fixed", taskBackoffDelayMs: 50, taskTimeoutMs: 1000 } });
  const defaults = taskDefaultsOf(config);

  it("fill what the input leaves out or sets to undefined, under what it sets itself", () => {
    expect(withTaskDefaults(defaults, { id: "t1", maxAttempts: undefined })).toEqual({
      id: "t1",
      maxAttempts: 5,
      backoff: { type: "fixed", delayMs: 50, maxDelayMs: config.taskBackoffMaxDelayMs, jitter: config.taskBackoffJitter },
      timeoutMs: 1000,
    });
    expect(withTaskDefaults(defaults, { id: "t2", maxAttempts: 1, timeoutMs: 20 })).toMatchObject({ maxAttempts: 1, timeoutMs: 20 });
  });

  it("are frozen, and a submit's merge is a new object that leaves them as they were", () => {
    const merged = withTaskDefaults(defaults, { id: "t3", maxAttempts: 2 });
    expect(Object.isFrozen(defaults)).toBe(true);
    expect(defaults.maxAttempts).toBe(5);
    expect(merged).not.toBe(defaults);
  });

  it("leave out the timeout when the configuration has none", () => {
    expect(taskDefaultsOf(loadConfig({ overrides: { taskTimeoutMs: 0 } }))).not.toHaveProperty("timeoutMs");
  });
});
