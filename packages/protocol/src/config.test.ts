import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, envNameOf, loadConfig } from "./config.js";

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
