import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError } from "@worksteal/protocol";
import { loadConfig } from "./load.js";

function configFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "ws-config-")), name);
  writeFileSync(file, text);
  return file;
}

describe("loadConfig", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("reads the file $WORKSTEAL_CONFIG names, then the environment, then overrides", () => {
    const file = configFile("config.json", JSON.stringify({ stealThreshold: 3, maxStealBatch: 4, namespace: "from-file" }));
    const config = loadConfig({
      env: { WORKSTEAL_CONFIG: file, WORKSTEAL_MAX_STEAL_BATCH: "7", REDIS_URL: "redis://r:1" },
      overrides: { namespace: "from-code" },
    });
    expect(config).toMatchObject({ stealThreshold: 3, maxStealBatch: 7, namespace: "from-code", redisUrl: "redis://r:1" });
  });

  it("takes the file option over $WORKSTEAL_CONFIG", () => {
    const named = configFile("named.json", JSON.stringify({ namespace: "named" }));
    const fromEnv = configFile("env.json", JSON.stringify({ namespace: "from-env" }));
    expect(loadConfig({ env: { WORKSTEAL_CONFIG: fromEnv }, file: named }).namespace).toBe("named");
  });

  it("reads process.env when given no environment", () => {
    vi.stubEnv("WORKSTEAL_MIN_TASKS_TO_STEAL", "9");
    expect(loadConfig().minTasksToSteal).toBe(9);
  });

  it("reports an unreadable, malformed or non-object file with its path", () => {
    expect(() => loadConfig({ env: {}, file: "/nonexistent/ws.json" })).toThrow(/config file \/nonexistent\/ws.json: ENOENT/);
    const bad = configFile("bad.json", "{");
    expect(() => loadConfig({ env: {}, file: bad })).toThrow(new RegExp(`config file ${bad}: bad JSON`));
    const list = configFile("list.json", "[1, 2]");
    expect(() => loadConfig({ env: {}, file: list })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, file: list })).toThrow(/not a JSON object/);
  });

  it("refuses a bad setting from the file, naming the field", () => {
    const file = configFile("config.json", JSON.stringify({ stealInterval: "soon" }));
    expect(() => loadConfig({ env: {}, file })).toThrow(/invalid configuration: stealInterval/);
  });

  it("loads an old file with claimIdleMs, warning once per process that it is ignored", () => {
    const emitWarning = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const file = configFile("old.json", JSON.stringify({ claimIdleMs: 30000, foldBatchSize: 50 }));
      expect(loadConfig({ env: {}, file }).foldBatchSize).toBe(50);
      expect(loadConfig({ env: { WORKSTEAL_CLAIM_IDLE_MS: "30000" } }).foldBatchSize).toBe(200);
      expect(emitWarning).toHaveBeenCalledTimes(1);
      expect(String(emitWarning.mock.calls[0]?.[0])).toMatch(/claimIdleMs \(WORKSTEAL_CLAIM_IDLE_MS\) is ignored/);
    } finally {
      emitWarning.mockRestore();
    }
  });
});
