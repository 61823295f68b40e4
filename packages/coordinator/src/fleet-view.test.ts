import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { TaskSpecSchema } from "@worksteal/protocol";
import { Store } from "@worksteal/store";
import { testNamespace } from "@worksteal/testkit";
import { AgentDirectory } from "./agent-directory.js";
import { readFleet } from "./fleet-view.js";

const redis = sharedRedis();

/** Read as a leader of a large fleet reads it (only the agents named by the events since), unless `readEveryLoadUpTo` says otherwise. */
const queuedOf = async (store: Store, directory: AgentDirectory, readEveryLoadUpTo = 0) =>
  Object.fromEntries((await readFleet(store, directory, readEveryLoadUpTo)).map((a) => [a.id, a.workload.queued]));

describe("the leader's fleet view", () => {
  it("reads the loads of the agents the events since name, and only when events were appended", async () => {
    const store = new Store(redis, testNamespace("fleet-view"));
    for (const id of ["a1", "a2", "a3"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    const directory = new AgentDirectory(store, 15_000);
    expect(await queuedOf(store, directory)).toEqual({ a1: 0, a2: 0, a3: 0 });

    await store.submit(TaskSpecSchema.parse({ id: "t1", type: "noop" }), "a1");
    expect(await queuedOf(store, directory)).toEqual({ a1: 1, a2: 0, a3: 0 });

    // Counts changed with no event (as only a hand edit does): the loads read at the last event
    // stand while nothing is appended, and then only the agents named are read again.
    await redis.zadd(store.keys.queuedCounts, 5, "a2", 7, "a3");
    expect(await queuedOf(store, directory)).toEqual({ a1: 1, a2: 0, a3: 0 });
    await store.submit(TaskSpecSchema.parse({ id: "t2", type: "noop" }), "a3");
    expect(await queuedOf(store, directory)).toEqual({ a1: 1, a2: 0, a3: 8 });

    // Maintenance corrected a count (no event): it has every load read again.
    directory.forgetLoads();
    expect(await queuedOf(store, directory)).toEqual({ a1: 1, a2: 5, a3: 8 });
  });

  it("reads every load of a small fleet whenever events were appended, not the events", async () => {
    const store = new Store(redis, testNamespace("fleet-view-small"));
    for (const id of ["a1", "a2", "a3"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    const directory = new AgentDirectory(store, 15_000);
    expect(await queuedOf(store, directory, 3)).toEqual({ a1: 0, a2: 0, a3: 0 });
    // A hand edit (no event) shows with the next event, whichever agent that event names.
    await redis.zadd(store.keys.queuedCounts, 5, "a2");
    expect(await queuedOf(store, directory, 3)).toEqual({ a1: 0, a2: 0, a3: 0 });
    await store.submit(TaskSpecSchema.parse({ id: "t1", type: "noop" }), "a1");
    expect(await queuedOf(store, directory, 3)).toEqual({ a1: 1, a2: 5, a3: 0 });
  });

  it("reads every load again when events since the last read may have been trimmed away", async () => {
    const store = new Store(redis, testNamespace("fleet-view-trimmed"));
    for (const id of ["a1", "a2"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    const directory = new AgentDirectory(store, 15_000);
    await store.submit(TaskSpecSchema.parse({ id: "t1", type: "noop" }), "a1");
    expect(await queuedOf(store, directory)).toEqual({ a1: 1, a2: 0 });
    await store.submit(TaskSpecSchema.parse({ id: "t2", type: "noop" }), "a2");
    await store.submit(TaskSpecSchema.parse({ id: "t3", type: "noop" }), "a1");
    // The first event after the read is gone: a2's change would be missed from the rest.
    const afterRead = (await redis.xrange(store.keys.events, "-", "+")).slice(-2)[0]![0];
    await redis.xtrim(store.keys.events, "MINID", afterRead);
    await redis.xdel(store.keys.events, afterRead);
    expect(await queuedOf(store, directory)).toEqual({ a1: 2, a2: 1 });
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
