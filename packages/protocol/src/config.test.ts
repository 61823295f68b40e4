import { describe, expect, it } from "vitest";
import { ConfigError, configSettings, deprecatedKeysIn, envNameOf, MIN_FOLD_LEASE_MS, MIN_LEASE_TTL_MS, resolveConfig } from "./config.js";

describe("resolveConfig", () => {
  it("has the original's settings with defaults", () => {
    const config = resolveConfig();
    expect(config).toMatchObject({ enabled: true, stealThreshold: 2, maxStealBatch: 10, stealInterval: 1000, minTasksToSteal: 2, strategy: "balanced" });
  });

  it("layers defaults < file < environment < overrides", () => {
    const config = resolveConfig({
      file: { stealThreshold: 3, maxStealBatch: 4, namespace: "from-file" },
      env: { WORKSTEAL_MAX_STEAL_BATCH: "7", WORKSTEAL_ENABLED: "false", REDIS_URL: "redis://r:1" },
      overrides: { namespace: "from-code" },
    });
    expect(config).toMatchObject({ stealThreshold: 3, maxStealBatch: 7, enabled: false, namespace: "from-code", redisUrl: "redis://r:1" });
  });

  it("prefers REDIS_URL to WORKSTEAL_REDIS_URL, and skips empty variables and undefined overrides", () => {
    const env = { WORKSTEAL_REDIS_URL: "redis://w:1", WORKSTEAL_NAMESPACE: "", WORKSTEAL_STEAL_THRESHOLD: "5" };
    expect(resolveConfig({ env }).redisUrl).toBe("redis://w:1");
    expect(resolveConfig({ env: { ...env, REDIS_URL: "redis://r:1" } }).redisUrl).toBe("redis://r:1");
    expect(resolveConfig({ env, overrides: { stealThreshold: undefined } })).toMatchObject({ namespace: "default", stealThreshold: 5 });
  });

  it("keeps the dashboard and its actions off unless asked (WORKSTEAL_DASHBOARD, WORKSTEAL_DASHBOARD_ACTIONS)", () => {
    expect(resolveConfig()).toMatchObject({ dashboard: false, dashboardActions: false });
    expect(resolveConfig({ env: { WORKSTEAL_DASHBOARD: "true", WORKSTEAL_DASHBOARD_ACTIONS: "1" } })).toMatchObject({
      dashboard: true,
      dashboardActions: true,
    });
    expect(() => resolveConfig({ env: { WORKSTEAL_DASHBOARD: "yes" } })).toThrow(/dashboard/);
  });

  it("names the bad field and refuses the whole configuration", () => {
    expect(() => resolveConfig({ env: { WORKSTEAL_STEAL_INTERVAL: "soon" } })).toThrow(/stealInterval/);
    expect(() => resolveConfig({ overrides: { namespace: "has space" } })).toThrow(ConfigError);
    expect(() => resolveConfig({ overrides: { heartbeatIntervalMs: 5000, agentTtlMs: 1000 } })).toThrow(/heartbeatIntervalMs/);
    expect(() => resolveConfig({ overrides: { unknownSetting: 1 } as never })).toThrow(/unknownSetting|Unrecognized/);
  });

  it("accepts and ignores the deprecated claimIdleMs, from a file or the environment, and names it for a warning", () => {
    const sources = { file: { claimIdleMs: 30000, stealThreshold: 4 }, env: { WORKSTEAL_CLAIM_IDLE_MS: "30000" } };
    const config = resolveConfig(sources);
    expect(config.stealThreshold).toBe(4);
    expect(config).not.toHaveProperty("claimIdleMs");
    expect(deprecatedKeysIn(sources)).toEqual(["claimIdleMs"]);
    expect(deprecatedKeysIn({ env: { WORKSTEAL_CLAIM_IDLE_MS: "1" } })).toEqual(["claimIdleMs"]);
    expect(deprecatedKeysIn({ file: { stealThreshold: 4 }, env: { WORKSTEAL_CLAIM_IDLE_MS: "" } })).toEqual([]);
  });

  describe("refuses combinations that cannot work, naming both fields", () => {
    const refusal = (overrides: Record<string, unknown>) => {
      try {
        resolveConfig({ overrides });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(overrides)}`);
    };

    it("a lease the leader's safety margin leaves too little of", () => {
      expect(refusal({ leaseTtlMs: 50 })).toMatch(/leaseTtlMs: 50 ms is below 300 ms: the leader's safety margin/);
      expect(refusal({ leaseTtlMs: MIN_LEASE_TTL_MS - 1 })).toMatch(/leaseTtlMs/);
      expect(resolveConfig({ overrides: { leaseTtlMs: MIN_LEASE_TTL_MS } }).leaseTtlMs).toBe(MIN_LEASE_TTL_MS);
    });

    it("a fold lease too short for the folder's reads to fit three times in it", () => {
      expect(refusal({ foldLeaseMs: 20 })).toMatch(/foldLeaseMs: 20 ms is below 150 ms/);
      expect(refusal({ foldLeaseMs: MIN_FOLD_LEASE_MS - 1 })).toMatch(/foldLeaseMs/);
      expect(resolveConfig({ overrides: { foldLeaseMs: MIN_FOLD_LEASE_MS } }).foldLeaseMs).toBe(MIN_FOLD_LEASE_MS);
    });

    it("a heartbeat no more frequent than the agent TTL", () => {
      expect(refusal({ heartbeatIntervalMs: 5000, agentTtlMs: 1000 })).toMatch(/heartbeatIntervalMs: must be below agentTtlMs \(5000 ms ≥ 1000 ms\)/);
      expect(refusal({ heartbeatIntervalMs: 1000, agentTtlMs: 1000 })).toMatch(/heartbeatIntervalMs: must be below agentTtlMs/);
      // From the environment too: the agent TTL alone, below the default heartbeat.
      expect(() => resolveConfig({ env: { WORKSTEAL_AGENT_TTL_MS: "1500" } })).toThrow(/heartbeatIntervalMs: must be below agentTtlMs \(2000 ms ≥ 1500 ms\)/);
    });

    it("a retention shorter than a running job's lock or the agent TTL", () => {
      expect(refusal({ retentionMs: 10_000 })).toMatch(/retentionMs: must be at least lockDurationMs \(10000 ms < 30000 ms\)/);
      expect(refusal({ retentionMs: 10_000, lockDurationMs: 5000, agentTtlMs: 20_000 })).toMatch(
        /retentionMs: must be at least agentTtlMs \(10000 ms < 20000 ms\)/,
      );
      expect(resolveConfig({ overrides: { retentionMs: 30_000 } }).retentionMs).toBe(30_000);
    });

    it("each broken rule at once, and a bad value without a rule about it", () => {
      const message = refusal({ leaseTtlMs: 100, heartbeatIntervalMs: 900, agentTtlMs: 800, retentionMs: 1000 });
      expect(message).toMatch(/leaseTtlMs: .*; heartbeatIntervalMs: .*; retentionMs: /);
      // A value that is not a number is reported as such, not compared.
      expect(refusal({ agentTtlMs: "soon" })).toBe("invalid configuration: agentTtlMs: Invalid input: expected number, received NaN");
    });

    it("accepts what the tests and scripts run with", () => {
      // tests/reaping.test.ts: an agent TTL below the lease (a new leader waits one agent TTL anyway).
      expect(() => resolveConfig({ overrides: { agentTtlMs: 1500, heartbeatIntervalMs: 200 } })).not.toThrow();
      // scripts/chaos.ts
      const chaos = { leaseTtlMs: 2000, agentTtlMs: 3000, heartbeatIntervalMs: 500, lockDurationMs: 3000, foldLeaseMs: 2000 };
      expect(() => resolveConfig({ overrides: chaos })).not.toThrow();
    });
  });

  it("lists every setting with its variable, default and description", () => {
    const settings = configSettings();
    const agentTtl = settings.find((s) => s.key === "agentTtlMs");
    expect(agentTtl).toMatchObject({ key: "agentTtlMs", env: "WORKSTEAL_AGENT_TTL_MS", defaultValue: 15000 });
    expect(agentTtl?.description).toMatch(/heartbeat/);
    expect(settings.every((s) => s.description !== "")).toBe(true);
  });

  it("derives environment names from setting names", () => {
    expect(envNameOf("minTasksToSteal")).toBe("WORKSTEAL_MIN_TASKS_TO_STEAL");
  });
});
