import { TaskSpecSchema } from "@worksteal/protocol";
import { testNamespace } from "@worksteal/testkit";
import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { readAgents, tallyAgents } from "./agents.js";
import { Store } from "./store.js";

const redis = sharedRedis();

describe("readAgents", () => {
  it("reads and tallies a fleet of several pages whole: every agent once, sorted by id, with its profile, status and load", async () => {
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

    // The same fleet tallied: by status, the tasks held, and the busiest (ties by id, idle agents too).
    await store.submit(TaskSpecSchema.parse({ id: "t2", type: "noop" }), "agent-0500");
    await store.submit(TaskSpecSchema.parse({ id: "t3", type: "noop" }), "agent-0500");
    expect(await tallyAgents(store, 60_000, 3)).toEqual({
      byStatus: { alive: 1233, draining: 1, drained: 0, dead: 0 },
      queued: 3,
      running: 0,
      busiest: [
        { id: "agent-0500", queued: 2, running: 0 },
        { id: "agent-0999", queued: 1, running: 0 },
        { id: "agent-0000", queued: 0, running: 0 },
      ],
    });
    // A heartbeat older than the TTL is dead, whatever the status field says.
    expect((await tallyAgents(store, -1, 0)).byStatus).toEqual({ alive: 0, draining: 0, drained: 0, dead: 1234 });
  });
});
