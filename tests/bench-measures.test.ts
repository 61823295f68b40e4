import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServer } from "@worksteal/testkit";
import { breakDown } from "../scripts/lib/slot-breakdown.js";
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

describe("where a run's makespan went (bench:steal --breakdown)", () => {
  const agents = [
    { id: "fast", slots: 1, speed: 1 },
    { id: "slow", slots: 1, speed: 2 },
  ];
  const runs = [
    // fast: claims for 10 ms at the start, runs 100 ms (5 over), a claim gap of 5 ms, starved 20 ms
    // (its next task came by a steal at 150), a 5 ms claim, then runs to 245.
    { agent: "fast", readyAt: 0, startedAt: 10, finishedAt: 115, sleepMs: 100 },
    { agent: "fast", readyAt: 0, startedAt: 120, finishedAt: 130, sleepMs: 10 },
    { agent: "fast", readyAt: 150, startedAt: 155, finishedAt: 245, sleepMs: 90 },
    // slow (twice as slow): runs from 0 to 200 and is then idle to the end.
    { agent: "slow", readyAt: 0, startedAt: 0, finishedAt: 200, sleepMs: 200 },
  ];

  it("splits each slot's time into work, start, claims, starved, overruns and end, adding up to the makespan", () => {
    const b = breakDown(agents, runs, 0);
    // capacity 1 + 1/2: each slot's ms count divided by its speed, then by the capacity.
    const part = (fast: number, slow: number) => (fast + slow / 2) / 1.5;
    expect(b.makespanMs).toBe(245);
    expect(b.workMs).toBeCloseTo(part(200, 200));
    expect(b.startMs).toBeCloseTo(part(10, 0));
    expect(b.claimMs).toBeCloseTo(part(5 + 5, 0));
    expect(b.starvedMs).toBeCloseTo(part(20, 0));
    expect(b.overrunMs).toBeCloseTo(part(5, 0));
    expect(b.endMs).toBeCloseTo(part(0, 45));
    expect(b.workMs + b.startMs + b.claimMs + b.starvedMs + b.overrunMs + b.endMs).toBeCloseTo(b.makespanMs);
    expect(b.lastFinishes).toEqual([
      { agent: "fast", atMs: 245, tasks: 3 },
      { agent: "slow", atMs: 200, tasks: 1 },
    ]);
  });

  it("still adds up when an agent's runs overlap more than its slots (a task run twice), the overlap counted against its claims", () => {
    const pair = [{ id: "pair", slots: 2, speed: 1 }];
    const overlapping = [
      { agent: "pair", readyAt: 0, startedAt: 0, finishedAt: 100, sleepMs: 100 },
      { agent: "pair", readyAt: 0, startedAt: 0, finishedAt: 100, sleepMs: 100 },
      // A third run at once on two slots: it takes the slot that frees first, 40 ms before it does.
      { agent: "pair", readyAt: 0, startedAt: 60, finishedAt: 160, sleepMs: 100 },
    ];
    const b = breakDown(pair, overlapping, 0);
    expect(b.makespanMs).toBe(160);
    expect(b.claimMs).toBeCloseTo(-40 / 2);
    expect(b.workMs + b.startMs + b.claimMs + b.starvedMs + b.overrunMs + b.endMs).toBeCloseTo(b.makespanMs);
  });

  it("counts a slot that ran nothing as idle from start to end", () => {
    const b = breakDown([...agents, { id: "idle", slots: 2, speed: 1 }], runs, 0);
    expect(b.endMs * 3.5).toBeCloseTo(45 / 2 + 2 * 245);
  });
});
