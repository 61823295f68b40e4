import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { LEGACY_FOLD_GROUP, TaskSpecSchema } from "@worksteal/protocol";
import { Replica, toFoldEntries } from "@worksteal/coordinator";
import { Store } from "@worksteal/store";
import { eventually, testNamespace } from "@worksteal/testkit";

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

function setup(overrides: { foldLeaseMs?: number } = {}) {
  const namespace = testNamespace("fold");
  const config = { redisUrl: inject("redisUrl"), namespace, logLevel: "silent" as const, ...overrides };
  const redis = new Redis(config.redisUrl);
  closers.push(() => redis.quit());
  const startReplica = async (id: string) => {
    const replica = new Replica({ id, config });
    await replica.start();
    closers.push(() => replica.stop());
    return replica;
  };
  return { config, redis, store: new Store(redis, namespace), startReplica };
}

/** Drives `tasks` tasks on `agent` through assigned → started → completed with the real scripts. */
async function runTasks(store: Store, agent: string, tasks: number, prefix: string) {
  await store.registerAgent({ id: agent, capabilities: [], concurrency: 1, priority: 0 });
  for (let i = 0; i < tasks; i++) {
    const id = `${prefix}-${i}`;
    await store.submit(TaskSpecSchema.parse({ id }), agent);
    if (i % 2 === 0) {
      await store.claim(id, agent, 1);
      await store.finish(id, agent, 1, "completed", "null");
    }
  }
}

describe("folding", () => {
  it("two replicas folding the same stream apply every event once; one of them folds, holding the fold lease", async () => {
    const { store, startReplica } = setup();
    await startReplica("r1");
    await startReplica("r2");
    await Promise.all([runTasks(store, "a1", 200, "x"), runTasks(store, "a2", 101, "y")]);
    await eventually(async () => {
      expect(await store.redis.hgetall(store.keys.workload("a1"))).toMatchObject({ done: "100", durationCount: "100" });
      expect(await store.redis.hgetall(store.keys.workload("a2"))).toMatchObject({ done: "51" });
    });
    const [newest] = await store.redis.xrevrange(store.keys.events, "+", "-", "COUNT", 1);
    expect((await store.foldCursor()).id).toBe(newest![0]);
    expect(["r1", "r2"]).toContain(await store.redis.get(store.keys.foldLease));
  });

  it("a replica that died holding the fold lease, with a batch read and not folded, is replaced; the batch is folded once", async () => {
    const { store, redis, startReplica } = setup({ foldLeaseMs: 300 });
    await runTasks(store, "a1", 20, "z");
    // A replica takes the lease, reads the entries after the cursor and dies before folding them.
    const { id: after } = await store.foldCursor();
    expect((await store.holdFoldLease("dead-replica", 300)).held).toBe(true);
    const read = await redis.xrange(store.keys.events, `(${after}`, "+");
    await startReplica("survivor");
    await eventually(async () => {
      expect(await redis.hgetall(store.keys.workload("a1"))).toMatchObject({ done: "10" });
    });
    expect(await redis.get(store.keys.foldLease)).toBe("survivor");
    // A late fold by the "dead" replica (it was only slow) changes nothing.
    const late = await store.fold(toFoldEntries(read), after);
    expect(late).toEqual({ applied: 0, deadLettered: 0, alreadyFolded: read.length });
    expect(await redis.hgetall(store.keys.workload("a1"))).toMatchObject({ done: "10" });
  });

  it("a replica upgraded while an old coordinator holds entries of the legacy group starts, and folds once they are acknowledged", async () => {
    const { store, redis, startReplica } = setup();
    await runTasks(store, "a1", 4, "u");
    // An old coordinator read every entry through the legacy group and acknowledged none yet.
    await redis.xgroup("CREATE", store.keys.events, LEGACY_FOLD_GROUP, "0");
    const read = (await redis.xreadgroup("GROUP", LEGACY_FOLD_GROUP, "old", "STREAMS", store.keys.events, ">")) as Array<[string, Array<[string, string[]]>]>;
    const delivered = read[0]![1];
    await startReplica("new");
    expect(await redis.exists(store.keys.foldCursor)).toBe(0);
    // It folded them, then acknowledged them, and stopped: the new replica starts after them.
    await redis.xack(store.keys.events, LEGACY_FOLD_GROUP, ...delivered.map(([id]) => id));
    await runTasks(store, "a2", 2, "v");
    await eventually(async () => {
      expect(await redis.hget(store.keys.workload("a2"), "done")).toBe("1");
    });
    expect(await redis.hget(store.keys.workload("a1"), "done")).toBeNull();
  });

  it("malformed events land in the dead-letter stream and change no workload", async () => {
    const { store, redis, startReplica } = setup();
    await startReplica("r1");
    const at = Date.now();
    const bad: Array<[string, string]> = [
      ["event", "{not json"],
      ["event", JSON.stringify({ kind: "task:assigned", taskId: "t", agentId: "a1", epoch: "one", at })],
      ["event", JSON.stringify({ kind: "task:exploded", taskId: "t", agentId: "a1" })],
      ["event", JSON.stringify({ kind: "task:completed", taskId: "t", agentId: "a1", taskType: "x", epoch: 1, durationMs: -5, at })],
      ["event", JSON.stringify({ kind: "task:assigned", taskId: "t".repeat(500), agentId: "a1", epoch: 1, at })],
      [
        "event",
        JSON.stringify({ kind: "task:failed", taskId: "t", agentId: "a1", taskType: "x", epoch: 1, durationMs: 1, final: true, error: "e".repeat(20_000), at }),
      ],
      ["payload", "no event field"],
    ];
    for (const [field, value] of bad) await redis.xadd(store.keys.events, "*", field, value);
    await eventually(async () => expect(await redis.xlen(store.keys.deadLetter)).toBe(bad.length));
    const reasons = (await redis.xrange(store.keys.deadLetter, "-", "+")).map(([, f]) => f[f.indexOf("reason") + 1]);
    expect(reasons).toEqual([
      expect.stringMatching(/bad JSON/),
      expect.stringMatching(/^epoch:/),
      expect.stringMatching(/unknown kind/),
      expect.stringMatching(/^durationMs:/),
      expect.stringMatching(/^taskId:/),
      expect.stringMatching(/over the .* limit/),
      expect.stringMatching(/no 'event' field/),
    ]);
    expect(await redis.exists(store.keys.workload("a1"))).toBe(0);
  });
});
