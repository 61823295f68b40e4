import { TaskSpecSchema } from "@worksteal/protocol";
import { testNamespace } from "@worksteal/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { readAgents } from "./agents.js";
import { Store } from "./store.js";

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject("redisUrl"));
});
afterAll(async () => {
  await redis.quit();
});

describe("readAgents", () => {
  it("reads a fleet of several pages whole: every agent once, sorted by id, with its profile, status and load", async () => {
    const store = new Store(redis, testNamespace("read-agents"));
    // More than two pages of 500, the last one partial.
    const ids = Array.from({ length: 1234 }, (_, i) => `agent-${String(i).padStart(4, "0")}`);
    for (const [i, id] of ids.entries()) await store.registerAgent({ id, capabilities: i === 700 ? ["gpu"] : [], concurrency: 1 + (i % 3), priority: 0 });
    await store.drain("agent-1233");
    await store.submit(TaskSpecSchema.parse({ id: "t1", type: "noop" }), "agent-0999");

    const agents = await readAgents(store, 60_000);
    expect(agents.map((a) => a.id)).toEqual(ids);
    expect(agents[700]).toMatchObject({ id: "agent-0700", capabilities: ["gpu"], concurrency: 2, status: "alive" });
    expect(agents[999]!.workload).toMatchObject({ queued: 1, running: 0 });
    expect(agents[1233]!.status).toBe("draining");
    expect(agents.filter((a) => a.status === "alive")).toHaveLength(1233);
  });
});
