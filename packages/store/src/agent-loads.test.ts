import { performance } from "node:perf_hooks";
import { jobIdFor, TaskSpecSchema } from "@worksteal/protocol";
import { testNamespace } from "@worksteal/testkit";
import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { type AgentLoad, type LoadsReadTime, readAgentLoads, readAgentLoadsAt, readBusiestAgents, readLoadsChangedSince } from "./agent-loads.js";
import { AttemptsExhaustedError } from "./errors.js";
import { AgentQueues } from "./queues.js";
import { Store } from "./store.js";

const redis = sharedRedis();

const task = (id: string, maxAttempts = 3) => TaskSpecSchema.parse({ id, type: "noop", maxAttempts });

async function register(store: Store, ...ids: string[]) {
  for (const id of ids) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
}

/** Every agent's load as its task sets hold it (agents holding nothing left out). */
async function fromSets(store: Store, ids: string[]): Promise<Map<string, AgentLoad>> {
  const sets = new Map<string, AgentLoad>();
  for (const id of ids) {
    const load = { queued: await redis.scard(store.keys.queuedOf(id)), running: await redis.scard(store.keys.runningOf(id)) };
    if (load.queued + load.running > 0) sets.set(id, load);
  }
  return sets;
}

/** readAgentLoads without the agents that hold nothing (it keeps them at 0 once they held a task). */
async function loads(store: Store): Promise<Map<string, AgentLoad>> {
  return new Map([...(await readAgentLoads(store))].filter(([, l]) => l.queued + l.running > 0));
}

describe("agent loads", () => {
  it("equal the agents' task sets after every script that moves a task", async () => {
    const store = new Store(redis, testNamespace("loads"));
    const agents = ["a", "b", "c"];
    await register(store, ...agents);
    await redis.set(store.keys.fence, 1);
    const expectExact = async (step: string) => {
      expect(await loads(store), step).toEqual(await fromSets(store, agents));
    };

    await store.submit(task("t1"), "a");
    await store.submit(task("t2"), "a");
    await store.submit(task("t3"), "a");
    await store.submit(task("t1"), "a"); // the same id again creates nothing
    await store.submit(task("u1"), "");
    await expectExact("submit");
    expect(await loads(store)).toEqual(new Map([["a", { queued: 3, running: 0 }]]));
    await store.assign("u1", "b", 0);
    await store.assign("u1", "b", 0); // a replayed assignment
    await expectExact("assign");
    await store.claim("t1", "a", 1);
    await store.claim("t1", "a", 1); // a stalled job re-delivered: restarted, counted once
    await expectExact("claim");
    expect((await readAgentLoads(store)).get("a")).toEqual({ queued: 2, running: 1 });
    await store.finish("t1", "a", 1, "retry", "again");
    await expectExact("finish, retry");
    await store.claim("t1", "a", 1);
    await store.finish("t1", "a", 1, "completed", "null");
    await expectExact("finish, completed");
    await store.move("t2", "a", "c", 1, { id: "d1", fence: 1 }, 60_000);
    await store.move("t2", "a", "c", 1, { id: "d1", fence: 1 }, 60_000); // a replayed move
    await expectExact("move");
    await store.claim("t2", "c", 2);
    await store.reassign("t2", "c", "b", "running", 2, 1);
    await store.reassign("t3", "a", "", "queued", 1, 1);
    await expectExact("reassign and park");
    await store.submit(task("x1", 1), "c");
    await store.claim("x1", "c", 1);
    await store.reassign("x1", "c", "a", "running", 1, 1);
    await expect(store.claim("x1", "a", 2)).rejects.toBeInstanceOf(AttemptsExhaustedError);
    await expectExact("claim with no attempt left");
    await store.claim("u1", "b", 1);
    await store.finish("u1", "b", 1, "failed", "for good");
    await expectExact("finish, failed");
    expect(await store.reconcileWorkloads(agents)).toBe(0);
    // The task scripts no longer keep a copy in the workload hash: it holds only folded figures.
    for (const id of agents) expect(await redis.hmget(store.keys.workload(id), "queued", "running")).toEqual([null, null]);
  });

  it("name the busiest agents first, and leave removed agents out", async () => {
    const store = new Store(redis, testNamespace("busiest"));
    await register(store, "a", "b", "c");
    for (let i = 0; i < 3; i++) await store.submit(task(`b${i}`), "b");
    await store.submit(task("a0"), "a");
    await store.submit(task("c0"), "c");
    await store.claim("c0", "c", 1);
    expect(await readBusiestAgents(store, 5)).toEqual([
      { agentId: "b", queued: 3 },
      { agentId: "a", queued: 1 },
    ]);
    expect(await readBusiestAgents(store, 1)).toEqual([{ agentId: "b", queued: 3 }]);
    await store.claim("c0", "c", 1).catch(() => undefined);
    await store.finish("c0", "c", 1, "completed", "null");
    // The job the submit added goes as BullMQ's worker would remove it once finished.
    const queues = new AgentQueues(redis, store.keys);
    expect(await queues.removeLeftover("c", jobIdFor("c0", 1))).toBe(true);
    await queues.close();
    // Folded up to the stream's last entry.
    const [newest] = await redis.xrevrange(store.keys.events, "+", "-", "COUNT", 1);
    await redis.hset(store.keys.foldCursor, "id", newest![0], "folded", 0);
    expect(await redis.zscore(store.keys.loadsChanged, "c")).not.toBeNull();
    expect(await store.removeAgent("c", 0)).toEqual({ removed: true });
    expect((await readAgentLoads(store)).has("c")).toBe(false);
    expect(await redis.zscore(store.keys.loadsChanged, "c")).toBeNull();
    // Registered again, it is stamped: the leader reads its loads again rather than those it had.
    await register(store, "c");
    expect(await redis.zscore(store.keys.loadsChanged, "c")).not.toBeNull();
  });

  it("since a read, are read for exactly the agents whose counts changed then or later (a start too, which appends no event), or not at all when that cannot be told", async () => {
    const store = new Store(redis, testNamespace("loads-changed"));
    await register(store, "a", "b", "c", "d");
    await redis.set(store.keys.fence, 1);
    await store.submit(task("t1"), "a");
    await store.submit(task("t2"), "a");
    const changedSince = async (since: LoadsReadTime, limit = 10) => (await readLoadsChangedSince(store, since, limit))?.loads;
    // The changes so far as if made a second before the read: a read looks a little before its
    // time (for a clock stepped back a little), but not that far, so they are not read again.
    const ageStamps = async (since: LoadsReadTime) => {
      for (const id of await redis.zrange(store.keys.loadsChanged, 0, "-1")) await redis.zadd(store.keys.loadsChanged, since.at - 1000, id);
    };
    let since: LoadsReadTime = await readAgentLoadsAt(store);
    await ageStamps(since);
    expect(await changedSince(since)).toEqual(new Map());
    await store.claim("t1", "a", 1);
    await store.move("t2", "a", "c", 1, { id: "d1", fence: 1 }, 60_000);
    await store.submit(task("t3"), "b");
    // "d" holds nothing and changed in nothing.
    expect(await changedSince(since)).toEqual(
      new Map([
        ["a", { queued: 0, running: 1 }],
        ["b", { queued: 1, running: 0 }],
        ["c", { queued: 1, running: 0 }],
      ]),
    );
    // A start alone: its agent, and only it; read on from a read of the changes.
    since = (await readLoadsChangedSince(store, since, 10))!;
    await ageStamps(since);
    await store.claim("t3", "b", 1);
    expect(await changedSince(since)).toEqual(new Map([["b", { queued: 0, running: 1 }]]));
    // A change stamped a little before the read (the Redis clock stepped back that much) is read too.
    await redis.zadd(store.keys.loadsChanged, since.at - 100, "c");
    expect([...((await changedSince(since))?.keys() ?? [])].sort()).toEqual(["b", "c"]);
    await redis.zadd(store.keys.loadsChanged, since.at - 1000, "c");
    // An agent never counted (no member in the load sets) reads 0, not NaN.
    await store.submit(task("t4"), "d");
    await redis.zrem(store.keys.queuedCounts, "d");
    expect((await changedSince(since))?.get("d")).toEqual({ queued: 0, running: 0 });
    // More agents changed than the limit, or a Redis clock behind the read's: unknown.
    expect(await changedSince(since, 1)).toBeUndefined();
    expect(await changedSince({ at: (await store.now()) + 60_000, sentAt: performance.now() })).toBeUndefined();
  });

  it("since a read, are read from as far back as the Redis clock may have stepped back", async () => {
    const store = new Store(redis, testNamespace("loads-step-back"));
    await register(store, "a", "b");
    const read = await readAgentLoadsAt(store);
    await redis.zadd(store.keys.loadsChanged, read.at - 5000, "a", read.at - 1000, "b");
    expect(await readLoadsChangedSince(store, read, 10)).toMatchObject({ loads: new Map() });
    // The same read as if sent 2 s earlier by the local clock while the Redis clock ran on only as
    // far as it did: it stepped back by up to 2 s meanwhile, so a change stamped 1 s before the
    // read's clock may have come after it: read ("b"); one stamped 5 s before, not ("a").
    const stepped = await readLoadsChangedSince(store, { at: read.at, sentAt: read.sentAt - 2000 }, 10);
    expect([...(stepped?.loads.keys() ?? [])]).toEqual(["b"]);
  });

  it("drift from outside the scripts is corrected by the reconciler for the agents named, and counted", async () => {
    const store = new Store(redis, testNamespace("loads-drift"));
    await register(store, "a", "b");
    await store.submit(task("t1"), "a");
    await store.submit(task("t2"), "a");
    await redis.zadd(store.keys.queuedCounts, 40, "a", 9, "b");
    await redis.zadd(store.keys.runningCounts, 7, "a");
    // Only the agents named are checked ("b" waits for its own pass); an unregistered id is left alone.
    expect(await store.reconcileWorkloads(["a", "gone"])).toBe(2);
    expect((await readAgentLoads(store)).get("a")).toEqual({ queued: 2, running: 0 });
    expect((await readAgentLoads(store)).get("b")).toEqual({ queued: 9, running: 0 });
    expect((await readAgentLoads(store)).has("gone")).toBe(false);
    expect(await redis.hget(store.keys.metrics, "reconciler.workload_corrections")).toBe("2");
    expect(await store.reconcileWorkloads(["b"])).toBe(1);
    expect((await readAgentLoads(store)).get("b")).toEqual({ queued: 0, running: 0 });
  });
});
