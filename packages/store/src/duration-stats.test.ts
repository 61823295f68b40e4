import { testNamespace } from "@worksteal/testkit";
import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { readDurationStats } from "./figures.js";
import { Store } from "./store.js";

const redis = sharedRedis();

describe("readDurationStats", () => {
  it("gives each type's average and the completions it rests on; a type without a usable count gives neither", async () => {
    const store = new Store(redis, testNamespace("duration-stats"));
    await redis.hset(store.keys.durations, { "render:sum": 3000, "render:count": 4, "noop:sum": 10, "noop:count": 0, "odd:sum": "x", "odd:count": 2 });
    expect(await readDurationStats(store)).toEqual({ averages: { render: 750 }, counts: { render: 4 } });
  });

  it("is empty before any task finished", async () => {
    const store = new Store(redis, testNamespace("duration-stats-empty"));
    expect(await readDurationStats(store)).toEqual({ averages: {}, counts: {} });
  });
});
