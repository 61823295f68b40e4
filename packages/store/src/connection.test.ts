import { eventually, freePort, startRedisServer } from "@worksteal/testkit";
import { afterEach, describe, expect, it, vi } from "vitest";
import { closeRedis, type ConnectionLog, createRedis, isConnectionError, maskRedisUrl, type RedisConnection } from "./connection.js";

interface Line {
  level: "info" | "warn";
  fields: Record<string, unknown>;
  message: string;
}

function recorder(): ConnectionLog & { lines: Line[] } {
  const lines: Line[] = [];
  return {
    lines,
    info: (fields, message) => void lines.push({ level: "info", fields, message }),
    warn: (fields, message) => void lines.push({ level: "warn", fields, message }),
  };
}

/** Counts the connection's failed attempts by its own events, to wait for retries without sleeping. */
function countEvents(redis: RedisConnection, event: "reconnecting"): () => number {
  let n = 0;
  redis.on(event, () => void (n += 1));
  return () => n;
}

const opened: RedisConnection[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((r) => closeRedis(r)));
});

describe("maskRedisUrl", () => {
  it("hides the password and nothing else", () => {
    expect(maskRedisUrl("redis://user:secret@host:6379/0")).toBe("redis://user:***@host:6379/0");
    expect(maskRedisUrl("rediss://:secret@host:6380")).toBe("rediss://:***@host:6380");
    expect(maskRedisUrl("redis://host:6379")).toBe("redis://host:6379");
    expect(maskRedisUrl("not a url :secret@")).toBe("(unparsable Redis URL)");
    expect(maskRedisUrl("redis+sentinel://:secret@s1:26379,s2:26379/mymaster")).toBe("redis+sentinel://:***@s1:26379,s2:26379/mymaster");
    expect(maskRedisUrl("redis+sentinel://user:secret@s1/mymaster")).toBe("redis+sentinel://user:***@s1/mymaster");
    expect(maskRedisUrl("redis+sentinel://s1:26379/mymaster")).toBe("redis+sentinel://s1:26379/mymaster");
    expect(maskRedisUrl("redis+sentinel://:secret@s1:x/m")).toBe("(unparsable Redis URL)");
  });
});

describe("createRedis", () => {
  it("an unreachable Redis: one line naming the masked URL, however many retries; never ioredis' unhandled-error print", async () => {
    const printed = vi.spyOn(console, "error");
    const log = recorder();
    const url = `redis://:hunter2@127.0.0.1:${await freePort()}`;
    const redis = createRedis(url, { log });
    opened.push(redis);
    // Counted by "reconnecting": an "error" listener of the test's own would hide the very print checked here.
    const retries = countEvents(redis, "reconnecting");
    await eventually(() => expect(retries()).toBeGreaterThanOrEqual(4), { timeoutMs: 20_000 });
    expect(log.lines).toEqual([
      {
        level: "warn",
        fields: { redis: url.replace("hunter2", "***"), error: expect.stringMatching(/ECONNREFUSED/) as string },
        message: "redis unreachable; retrying with backoff",
      },
    ]);
    expect(JSON.stringify(log.lines)).not.toContain("hunter2");
    expect(printed).not.toHaveBeenCalled();
    // Closing a connection that is between retries is prompt: no QUIT waits for a reconnect.
    await closeRedis(redis);
    expect(redis.status).toBe("end");
  });

  it("connected, lost, back: one line each, none per retry", async () => {
    const server = await startRedisServer({ appendOnly: false });
    try {
      const log = recorder();
      const redis = createRedis(server.url, { log });
      opened.push(redis);
      await eventually(() => expect(log.lines.map((l) => l.message)).toEqual(["redis connected"]));
      expect(log.lines[0]!.fields).toEqual({ redis: server.url });

      const retries = countEvents(redis, "reconnecting");
      await server.shutdown();
      await eventually(() => expect(retries()).toBeGreaterThanOrEqual(4), { timeoutMs: 20_000 });
      expect(log.lines.map((l) => l.message)).toEqual(["redis connected", "redis connection lost; reconnecting with backoff"]);

      await server.restart();
      await eventually(() => expect(log.lines).toHaveLength(3), { timeoutMs: 20_000 });
      expect(log.lines[2]).toMatchObject({
        level: "info",
        message: "redis connection back",
        fields: { redis: server.url, failedAttempts: expect.any(Number) as number },
      });
      expect(await redis.ping()).toBe("PONG");
    } finally {
      await server.stop();
    }
  });
});

describe("isConnectionError", () => {
  it("tells a refused or closed connection from a command's own error", () => {
    expect(isConnectionError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isConnectionError(new Error("Connection is closed."))).toBe(true);
    expect(isConnectionError(new Error("WRONGTYPE Operation against a key holding the wrong kind of value"))).toBe(false);
    expect(isConnectionError("ECONNREFUSED")).toBe(false);
  });
});
