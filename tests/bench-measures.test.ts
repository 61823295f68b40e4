import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServer } from "@worksteal/testkit";
import { processCpuSeconds, redisCost, sampleRedis } from "../scripts/lib/throughput/cost.js";

// A server of its own: INFO counts every client's commands, so only here are the counts exact.
let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer({ appendOnly: false });
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

describe("the benches' measures", () => {
  it("counts a script's inner calls as commands and leaves its own INFO calls out", async () => {
    const before = await sampleRedis(redis);
    await redis.eval("for i = 1, 3 do redis.call('HSET', KEYS[1], 'f' .. i, i) end return 1", 1, "h");
    await redis.get("h2");
    const cost = redisCost(before, await sampleRedis(redis));
    expect(Object.fromEntries(cost.calls)).toEqual({ eval: 1, hset: 3, get: 1 });
    expect(cost.totalCalls).toBe(5);
    expect(cost.cpuSeconds).toBeGreaterThanOrEqual(0);
  });

  it("reads a process's CPU from /proc, growing as it works", () => {
    const before = processCpuSeconds(process.pid);
    const until = process.cpuUsage().user + 100_000;
    while (process.cpuUsage().user < until) Math.sqrt(Math.random());
    expect(processCpuSeconds(process.pid)).toBeGreaterThan(before);
  });
});
