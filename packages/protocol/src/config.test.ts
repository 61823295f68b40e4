import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, configSettings, envNameOf, loadConfig, MIN_LEASE_TTL_MS } from "./config.js";

describe("loadConfig", () => {
  it("has the original's settings with defaults", () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({ enabled: true, stealThreshold: 2, maxStealBatch: 10, stealInterval: 1000, minTasksToSteal: 2, strategy: "balanced" });
  });

  it("layers defaults < file < environment < overrides", () => {
    const dir = mkdtempSync(join(tmpdir(), "ws-config-"));
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ stealThreshold: 3, maxStealBatch: 4, namespace: "from-file" }));
    const config = loadConfig({
      env: { WORKSTEAL_CONFIG: file, WORKSTEAL_MAX_STEAL_BATCH: "7", WORKSTEAL_ENABLED: "false", REDIS_URL: "redis://r:1" },
      overrides: { namespace: "from-code" },
    });
    expect(config).toMatchObject({ stealThreshold: 3, maxStealBatch: 7, enabled: false, namespace: "from-code", redisUrl: "redis://r:1" });
  });

  it("names the bad field and refuses the whole configuration", () => {
    expect(() => loadConfig({ env: { WORKSTEAL_STEAL_INTERVAL: "soon" } })).toThrow(/stealInterval/);
    expect(() => loadConfig({ env: {}, overrides: { namespace: "has space" } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, overrides: { heartbeatIntervalMs: 5000, agentTtlMs: 1000 } })).toThrow(/heartbeatIntervalMs/);
    expect(() => loadConfig({ env: {}, overrides: { unknownSetting: 1 } as never })).toThrow(/unknownSetting|Unrecognized/);
  });

  describe("refuses combinations that cannot work, naming both fields", () => {
    const refusal = (overrides: Record<string, unknown>) => {
      try {
        loadConfig({ env: {}, overrides: overrides as never });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(overrides)}`);
    };

    it("a lease the leader's safety margin leaves too little of", () => {
      expect(refusal({ leaseTtlMs: 50 })).toMatch(/leaseTtlMs: 50 ms is below 300 ms: the leader's safety margin/);
      expect(refusal({ leaseTtlMs: MIN_LEASE_TTL_MS - 1 })).toMatch(/leaseTtlMs/);
      expect(loadConfig({ env: {}, overrides: { leaseTtlMs: MIN_LEASE_TTL_MS } }).leaseTtlMs).toBe(MIN_LEASE_TTL_MS);
    });

    it("a heartbeat no more frequent than the agent TTL", () => {
      expect(refusal({ heartbeatIntervalMs: 5000, agentTtlMs: 1000 })).toMatch(/heartbeatIntervalMs: must be below agentTtlMs \(5000 ms ≥ 1000 ms\)/);
      expect(refusal({ heartbeatIntervalMs: 1000, agentTtlMs: 1000 })).toMatch(/heartbeatIntervalMs: must be below agentTtlMs/);
      // From the environment too: the agent TTL alone, below the default heartbeat.
      expect(() => loadConfig({ env: { WORKSTEAL_AGENT_TTL_MS: "1500" } })).toThrow(/heartbeatIntervalMs: must be below agentTtlMs \(2000 ms ≥ 1500 ms\)/);
    });

    it("a retention shorter than a running job's lock or the agent TTL", () => {
      expect(refusal({ retentionMs: 10_000 })).toMatch(/retentionMs: must be at least lockDurationMs \(10000 ms < 30000 ms\)/);
      expect(refusal({ retentionMs: 10_000, lockDurationMs: 5000, agentTtlMs: 20_000 })).toMatch(
        /retentionMs: must be at least agentTtlMs \(10000 ms < 20000 ms\)/,
      );
      expect(loadConfig({ env: {}, overrides: { retentionMs: 30_000 } }).retentionMs).toBe(30_000);
    });

    it("each broken rule at once, and a bad value without a rule about it", () => {
      const message = refusal({ leaseTtlMs: 100, heartbeatIntervalMs: 900, agentTtlMs: 800, retentionMs: 1000 });
      expect(message).toMatch(/leaseTtlMs: .*; heartbeatIntervalMs: .*; retentionMs: /);
      // A value that is not a number is reported as such, not compared.
      expect(refusal({ agentTtlMs: "soon" })).toBe("invalid configuration: agentTtlMs: Invalid input: expected number, received NaN");
    });

    it("accepts what the tests and scripts run with", () => {
      // tests/reaping.test.ts: an agent TTL below the lease (a new leader waits one agent TTL anyway).
      expect(() => loadConfig({ env: {}, overrides: { agentTtlMs: 1500, heartbeatIntervalMs: 200 } })).not.toThrow();
      // scripts/chaos.ts
      const chaos = { leaseTtlMs: 2000, agentTtlMs: 3000, heartbeatIntervalMs: 500, lockDurationMs: 3000, claimIdleMs: 2000 };
      expect(() => loadConfig({ env: {}, overrides: chaos })).not.toThrow();
    });
  });

  it("lists every setting with its variable, default and description", () => {
    const settings = configSettings();
    expect(settings.find((s) => s.key === "agentTtlMs")).toEqual({
      key: "agentTtlMs",
      env: "WORKSTEAL_AGENT_TTL_MS",
      defaultValue: 15000,
      description: expect.stringMatching(/heartbeat/),
    });
    expect(settings.every((s) => s.description !== "")).toBe(true);
  });

  it("reports an unreadable or malformed file with its path", () => {
    expect(() => loadConfig({ env: {}, file: "/nonexistent/ws.json" })).toThrow(/\/nonexistent\/ws.json/);
    const dir = mkdtempSync(join(tmpdir(), "ws-config-"));
    writeFileSync(join(dir, "bad.json"), "{");
    expect(() => loadConfig({ env: {}, file: join(dir, "bad.json") })).toThrow(/bad JSON/);
  });

  it("derives environment names from setting names", () => {
    expect(envNameOf("minTasksToSteal")).toBe("WORKSTEAL_MIN_TASKS_TO_STEAL");
  });
});
