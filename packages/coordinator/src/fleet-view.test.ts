import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { jobIdFor, TaskSpecSchema } from "@worksteal/protocol";
import { AgentQueues, cancelTask, Store } from "@worksteal/store";
import { testNamespace } from "@worksteal/testkit";
import { AgentDirectory } from "./agent-directory.js";
import { readFleet } from "./fleet-view.js";

const redis = sharedRedis();

const queuedOf = async (store: Store, directory: AgentDirectory) =>
  Object.fromEntries((await readFleet(store, directory)).map((a) => [a.id, a.workload.queued]));

describe("the leader's fleet view", () => {
  it("reads again the loads of the agents whose counts changed since its last read, a start's too (which appends no event)", async () => {
    const store = new Store(redis, testNamespace("fleet-view"));
    for (const id of ["a1", "a2", "a3"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    const directory = new AgentDirectory(store, 15_000);
    expect(await queuedOf(store, directory)).toEqual({ a1: 0, a2: 0, a3: 0 });

    await store.submit(TaskSpecSchema.parse({ id: "t1", type: "noop" }), "a1");
    expect(await queuedOf(store, directory)).toEqual({ a1: 1, a2: 0, a3: 0 });

    // Counts changed outside the scripts (as only a hand edit does) are not stamped: the loads
    // read stand, and then only the agents the scripts changed are read again.
    await redis.zadd(store.keys.queuedCounts, 5, "a2", 7, "a3");
    // The changes so far as if made a second ago: reads look a little before their time (for a
    // clock stepped back a little), not that far, so those agents are not read again.
    const aSecondAgo = (await store.now()) - 1000;
    await redis.zadd(store.keys.loadsChanged, aSecondAgo, "a1", aSecondAgo, "a2", aSecondAgo, "a3");
    expect(await queuedOf(store, directory)).toEqual({ a1: 1, a2: 0, a3: 0 });
    await store.submit(TaskSpecSchema.parse({ id: "t2", type: "noop" }), "a3");
    await store.claim("t1", "a1", 1);
    expect(await queuedOf(store, directory)).toEqual({ a1: 0, a2: 0, a3: 8 });

    // Maintenance corrected a count (no stamp): it has every load read again.
    directory.forgetLoads();
    expect(await queuedOf(store, directory)).toEqual({ a1: 0, a2: 5, a3: 8 });
  });

  it("shows an agent removed and registered again under the same id with its counts now, not those read before the removal", async () => {
    for (const readWhileRemoved of [false, true]) {
      const store = new Store(redis, testNamespace("fleet-view-again"));
      for (const id of ["a1", "a2"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
      const directory = new AgentDirectory(store, 15_000);
      await store.submit(TaskSpecSchema.parse({ id: "t1", type: "noop" }), "a2");
      expect(await queuedOf(store, directory)).toEqual({ a1: 0, a2: 1 });
      // Its task cancelled (a2 stamped, then its stamp removed with it) before the leader reads again.
      await cancelTask(store, "t1", 60_000);
      // Its job goes as the agent's worker would drop it.
      const queues = new AgentQueues(redis, store.keys);
      await queues.removeLeftover("a2", jobIdFor("t1", 1));
      await queues.close();
      const [newest] = await redis.xrevrange(store.keys.events, "+", "-", "COUNT", 1);
      await redis.hset(store.keys.foldCursor, "id", newest![0], "folded", 0);
      expect(await store.removeAgent("a2", 0)).toEqual({ removed: true });
      if (readWhileRemoved) {
        await directory.recheck(10);
        expect(await queuedOf(store, directory)).toEqual({ a1: 0 });
      }
      await store.registerAgent({ id: "a2", capabilities: [], concurrency: 1, priority: 0 });
      expect(await queuedOf(store, directory)).toEqual({ a1: 0, a2: 0 });
    }
  });

  it("reads every load again once its connection was lost (perhaps a failover to a server whose clock is behind)", async () => {
    const own = new Redis(redis.options);
    own.on("error", () => undefined);
    try {
      const store = new Store(own, testNamespace("fleet-view-reconnect"));
      await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
      const directory = new AgentDirectory(store, 15_000);
      expect(await queuedOf(store, directory)).toEqual({ a1: 0 });
      // A count no stamp says changed (as on a server the stamps since do not reach).
      await redis.zadd(store.keys.queuedCounts, 3, "a1");
      await redis.zadd(store.keys.loadsChanged, (await store.now()) - 1000, "a1");
      expect(await queuedOf(store, directory)).toEqual({ a1: 0 });
      const reconnecting = new Promise((resolve) => own.once("reconnecting", resolve));
      await redis.client("KILL", "ID", String(await own.client("ID")));
      await reconnecting;
      expect(await queuedOf(store, directory)).toEqual({ a1: 3 });
    } finally {
      own.disconnect();
    }
  });

  it("sees an agent go quiet, which appends no event", async () => {
    const store = new Store(redis, testNamespace("fleet-view-quiet"));
    for (const id of ["a1", "a2"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    const directory = new AgentDirectory(store, 15_000);
    const statuses = async () => Object.fromEntries((await readFleet(store, directory)).map((a) => [a.id, a.status]));
    expect(await statuses()).toEqual({ a1: "alive", a2: "alive" });
    // a2's last heartbeat a minute ago, as if it had stopped then.
    const longAgo = (await store.now()) - 60_000;
    await redis.zadd(store.keys.heartbeats, longAgo, "a2");
    await redis.hset(store.keys.agent("a2"), "lastHeartbeat", longAgo);
    expect(await statuses()).toEqual({ a1: "alive", a2: "dead" });
  });

  it("sees agents removed or edited by hand, which number no change, from maintenance's re-check of a share of the fleet", async () => {
    const store = new Store(redis, testNamespace("fleet-view-recheck"));
    for (const id of ["a1", "a2"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    const directory = new AgentDirectory(store, 15_000);
    expect((await readFleet(store, directory)).map((a) => [a.id, a.concurrency])).toEqual([
      ["a1", 1],
      ["a2", 1],
    ]);
    await redis.del(store.keys.agent("a2"));
    await redis.srem(store.keys.agents, "a2");
    await redis.hset(store.keys.agent("a1"), "concurrency", 4);
    // Maintenance's re-check, a share of the fleet per pass: here the whole of it.
    await directory.recheck(10);
    expect((await readFleet(store, directory)).map((a) => [a.id, a.concurrency])).toEqual([["a1", 4]]);
  });
});
