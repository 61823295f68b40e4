import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { deleteNamespace, testNamespace } from "./namespace.js";
import { provideRedis } from "./provide.js";
import { hasRedisServerBinary, pingPort } from "./redis-server.js";

const saved = process.env.REDIS_URL;
afterEach(() => {
  if (saved === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = saved;
});

describe("provideRedis", () => {
  it("uses REDIS_URL as is when set", async () => {
    process.env.REDIS_URL = "redis://example.invalid:1234/5";
    const redis = await provideRedis();
    expect(redis).toMatchObject({ url: "redis://example.invalid:1234/5", source: "env" });
    await redis.teardown();
  });

  it.skipIf(!hasRedisServerBinary())("otherwise starts a private redis-server, never the shared 6379", async () => {
    delete process.env.REDIS_URL;
    const redis = await provideRedis();
    try {
      expect(redis.source).toBe("redis-server");
      expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(redis.url).not.toMatch(/:6379$/);
    } finally {
      await redis.teardown();
    }
    expect(await pingPort(Number(new URL(redis.url).port))).toBe(false);
  });
});

describe("global setup", () => {
  it("provides redisUrl to tests; deleteNamespace removes only that namespace's keys", async () => {
    const url = inject("redisUrl");
    expect(url).toMatch(/^rediss?:\/\//);
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      const ns = testNamespace();
      const other = testNamespace();
      await redis.set(`ws:{${ns}}:a`, "1");
      await redis.set(`ws:{${ns}}:b`, "2");
      await redis.set(`ws:{${other}}:a`, "3");
      expect(await deleteNamespace(redis, ns)).toBe(2);
      expect(await redis.exists(`ws:{${ns}}:a`, `ws:{${ns}}:b`)).toBe(0);
      expect(await redis.get(`ws:{${other}}:a`)).toBe("3");
      await deleteNamespace(redis, other);
    } finally {
      redis.disconnect();
    }
  });
});
