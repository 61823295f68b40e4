import { createServer, type Server } from "node:net";
import { keysFor } from "@worksteal/protocol";
import { freePort, sleep, spawnNode, testNamespace } from "@worksteal/testkit";
import { describe, expect, inject, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";

const MAIN = "packages/coordinator/src/main.ts";
const FIXTURE = "tests/fixtures/replica-start-stop.ts";

const redis = sharedRedis();

/** Every key of a namespace. */
async function keysOf(namespace: string): Promise<string[]> {
  return redis.keys(`${keysFor(namespace).prefix}*`);
}

/** A namespace whose event stream key holds a string: the replica's first command fails at once. */
async function brokenNamespace(prefix: string): Promise<string> {
  const namespace = testNamespace(prefix);
  await redis.set(keysFor(namespace).events, "not a stream");
  return namespace;
}

describe("worksteal-coordinator", () => {
  it("with Redis unreachable: one line naming the masked URL and namespace, not one per retry", async () => {
    const url = `redis://:hunter2@127.0.0.1:${await freePort()}`;
    const child = spawnNode(MAIN, [], { env: { REDIS_URL: url, WORKSTEAL_NAMESPACE: "nowhere", WORKSTEAL_LOG_LEVEL: "info" } });
    try {
      const line = await child.waitForLine((l) => l.json?.msg === "redis unreachable; retrying with backoff", 20_000);
      expect(line.json).toMatchObject({ redis: url.replace("hunter2", "***"), namespace: "nowhere", error: expect.stringMatching(/ECONNREFUSED/) as unknown });
      // A few seconds of reconnecting (backoff 100 ms, 200 ms, ... 2 s) by three connections.
      await sleep(3000);
      expect(child.lines.map((l) => l.json?.msg)).toEqual(["replica starting", "redis unreachable; retrying with backoff"]);
      expect(child.lines[0]!.json).toMatchObject({ redis: url.replace("hunter2", "***"), namespace: "nowhere" });
      expect(child.stderr()).toBe("");
      expect(JSON.stringify(child.lines)).not.toContain("hunter2");
    } finally {
      child.kill("SIGTERM");
    }
    // SIGTERM while start() waits for Redis ends it at once.
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.stderr()).not.toContain("Unhandled error event");
  });

  it("an HTTP port in use: exit 2 with one line, before anything is registered", async () => {
    const namespace = testNamespace("port-taken");
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve));
    try {
      const child = spawnNode(MAIN, [], {
        env: { REDIS_URL: inject("redisUrl"), WORKSTEAL_NAMESPACE: namespace, WORKSTEAL_HTTP_PORT: String(port), WORKSTEAL_LOG_LEVEL: "info" },
      });
      expect(await child.exited).toEqual({ code: 2, signal: null });
      expect(child.stderr()).toBe(`worksteal-coordinator: HTTP port 127.0.0.1:${port} is already in use (WORKSTEAL_HTTP_PORT)\n`);
      expect(child.lines).toEqual([]);
      expect(await redis.hgetall(keysFor(namespace).replicas)).toEqual({});
      expect(await keysOf(namespace)).toEqual([]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("a start that fails: one line naming Redis and namespace, exit 1, nothing left registered", async () => {
    const namespace = await brokenNamespace("start-fails");
    const child = spawnNode(MAIN, [], { env: { REDIS_URL: inject("redisUrl"), WORKSTEAL_NAMESPACE: namespace, WORKSTEAL_LOG_LEVEL: "silent" } });
    expect(await child.exited).toEqual({ code: 1, signal: null });
    expect(child.stderr()).toMatch(new RegExp(`^worksteal-coordinator: could not start \\(Redis [^,]+, namespace ${namespace}\\): WRONGTYPE [^\\n]+\\n$`));
    expect(await redis.hgetall(keysFor(namespace).replicas)).toEqual({});
  });

  it("--help lists the variables it reads, --version its version; neither starts a replica", async () => {
    const help = spawnNode(MAIN, ["--help"], { env: { REDIS_URL: "redis://127.0.0.1:1" } });
    expect(await help.exited).toEqual({ code: 0, signal: null });
    const text = help.lines.map((l) => l.text).join("\n");
    expect(text).toMatch(/^Usage: worksteal-coordinator/);
    for (const variable of [
      "REDIS_URL",
      "WORKSTEAL_CONFIG",
      "WORKSTEAL_REPLICA_ID",
      "WORKSTEAL_NAMESPACE",
      "WORKSTEAL_LEASE_TTL_MS",
      "WORKSTEAL_HTTP_PORT",
      "WORKSTEAL_RETENTION_MS",
    ]) {
      expect(text).toContain(variable);
    }
    expect(help.stderr()).toBe("");

    const version = spawnNode(MAIN, ["--version"]);
    expect(await version.exited).toEqual({ code: 0, signal: null });
    expect(version.lines.map((l) => l.text)).toEqual([expect.stringMatching(/^\d+\.\d+\.\d+/)]);

    const bad = spawnNode(MAIN, ["start"]);
    expect(await bad.exited).toEqual({ code: 2, signal: null });
    expect(bad.stderr()).toMatch(/^worksteal-coordinator: unexpected argument 'start'[^\n]*\n$/);
  });
});

describe("Replica.stop() whatever start() reached", () => {
  // The fixture never calls process.exit: it ends only if stop() closed every connection.
  it("after a failed start", async () => {
    const namespace = await brokenNamespace("stop-after-fail");
    const child = spawnNode(FIXTURE, ["after-failed-start"], {
      env: { REDIS_URL: inject("redisUrl"), WORKSTEAL_NAMESPACE: namespace, WORKSTEAL_LOG_LEVEL: "silent" },
    });
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.lines.map((l) => l.json?.msg)).toEqual(["start failed", "stopped"]);
    expect(child.lines[0]!.json?.error).toMatch(/^WRONGTYPE/);
    expect(await redis.hgetall(keysFor(namespace).replicas)).toEqual({});
  });

  it("while start() waits for an unreachable Redis", async () => {
    const child = spawnNode(FIXTURE, ["during-start"], {
      env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, WORKSTEAL_NAMESPACE: "nowhere", WORKSTEAL_LOG_LEVEL: "silent" },
    });
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.lines.map((l) => l.json?.msg)).toEqual(["start failed", "stopped"]);
    expect(child.stderr()).not.toContain("Unhandled error event");
  });
});
