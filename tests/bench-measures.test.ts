import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServer } from "@worksteal/testkit";
import { foldCaughtUp } from "../scripts/lib/fold/caught-up.js";
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

  it("sees the fold caught up only once the fold cursor stands at the stream's last entry, deletions inside the stream notwithstanding", async () => {
    const keys = { events: "stream", foldCursor: "stream:fold" };
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await redis.xadd(keys.events, "*", "event", String(i)))!);
    expect(await foldCaughtUp(redis, keys)).toBe(false);
    await redis.hset(keys.foldCursor, "id", ids[1]!);
    expect(await foldCaughtUp(redis, keys)).toBe(false);
    await redis.hset(keys.foldCursor, "id", ids[2]!);
    expect(await foldCaughtUp(redis, keys)).toBe(true);
    const deleted = (await redis.xadd(keys.events, "*", "event", "deleted"))!;
    const late = (await redis.xadd(keys.events, "*", "event", "late"))!;
    await redis.xdel(keys.events, deleted);
    expect(await foldCaughtUp(redis, keys)).toBe(false);
    await redis.hset(keys.foldCursor, "id", late);
    expect(await foldCaughtUp(redis, keys)).toBe(true);
  });
});
