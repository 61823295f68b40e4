import { LEGACY_FOLD_GROUP, TaskSpecSchema, effectsOf, parseEventEntry } from "@worksteal/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import {
  AgentIncapableError,
  AgentNotAliveError,
  AgentUnknownError,
  LegacyFoldPendingError,
  StaleTaskError,
  TaskFinishedError,
  TaskNotQueuedError,
  TaskNotRunningError,
} from "./errors.js";
import { foldCaughtUp, readFoldProgress } from "./figures.js";
import { Store, type FoldEntry } from "./store.js";
import { cancelTask } from "./task-control.js";
import { testNamespace } from "@worksteal/testkit";

const redis = sharedRedis();
let store: Store;

/** Tasks are only given to registered, live agents. */
async function register(on: Store, ...ids: string[]) {
  for (const id of ids) await on.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
}

beforeAll(async () => {
  store = new Store(redis, testNamespace("store"));
  await register(store, "agent-1", "agent-2", "agent-3", "agent-4");
});

const task = (id: string) => TaskSpecSchema.parse({ id, type: "resize", payload: { n: 1 }, maxAttempts: 2 });

async function eventKinds(): Promise<string[]> {
  const entries = await redis.xrange(store.keys.events, "-", "+");
  return entries.map(([, fields]) => (JSON.parse(fields[1]!) as { kind: string }).kind);
}

describe("task scripts", () => {
  it("submits once, claims, and completes with the owner's epoch", async () => {
    const first = await store.submit(task("a1"), "agent-1");
    expect(first).toEqual({ created: true, owner: "agent-1", epoch: 1, state: "queued" });
    const again = await store.submit(task("a1"), "agent-2");
    expect(again).toEqual({ created: false, owner: "agent-1", epoch: 1, state: "queued" });

    await expect(store.claim("a1", "agent-2", 1)).rejects.toBeInstanceOf(StaleTaskError);
    await expect(store.claim("a1", "agent-1", 0)).rejects.toBeInstanceOf(StaleTaskError);
    await expect(store.finish("a1", "agent-1", 1, "completed", "1")).rejects.toBeInstanceOf(TaskNotRunningError);
    expect(await store.claim("a1", "agent-1", 1)).toEqual({
      attempt: 1,
      restarted: false,
      type: "resize",
      payload: { n: 1 },
      requiredCapabilities: [],
      maxAttempts: 2,
    });
    expect((await store.finish("a1", "agent-1", 1, "completed", '{"ok":true}')).durationMs).toBeGreaterThanOrEqual(0);
    await expect(store.claim("a1", "agent-1", 1)).rejects.toBeInstanceOf(TaskFinishedError);

    const record = await store.getTask("a1");
    expect(record).toMatchObject({ state: "done", owner: "agent-1", epoch: 1, attempts: 1, result: { ok: true } });
  });

  it("a retry puts the task back to queued; the last attempt fails it", async () => {
    await store.submit(task("r1"), "agent-1");
    await store.claim("r1", "agent-1", 1);
    await store.finish("r1", "agent-1", 1, "retry", "boom");
    expect((await store.getTask("r1"))?.state).toBe("queued");
    expect(await store.claim("r1", "agent-1", 1)).toMatchObject({ attempt: 2, restarted: false });
    await store.finish("r1", "agent-1", 1, "failed", "boom again");
    expect(await store.getTask("r1")).toMatchObject({ state: "failed", error: "boom again", attempts: 2 });
  });

  it("a task with no owner waits unassigned until placed, once", async () => {
    await store.submit(task("u1"), "");
    expect(await redis.zscore(store.keys.unassigned, "u1")).not.toBeNull();
    expect(await store.assign("u1", "agent-3", 0)).toBe(1);
    await expect(store.assign("u1", "agent-4", 0)).rejects.toThrow(/already has an owner/);
    expect(await redis.zscore(store.keys.unassigned, "u1")).toBeNull();
    expect(await store.getTask("u1")).toMatchObject({ owner: "agent-3", epoch: 1 });
  });

  it("every event the scripts append passes the protocol's validation", async () => {
    // The second starts a backlog on agent-2 (one slot): announced. Starts append nothing.
    await store.submit(task("k1"), "agent-2");
    await store.submit(task("k2"), "agent-2");
    await store.claim("k1", "agent-2", 1);
    await store.heartbeat("agent-1", 12.5, 100);
    const entries = await redis.xrange(store.keys.events, "-", "+");
    for (const [, fields] of entries) expect(parseEventEntry(fields)).toMatchObject({ ok: true });
    expect(new Set(await eventKinds())).toEqual(new Set(["task:assigned", "task:completed", "task:failed", "agent:registered"]));
    // A heartbeat appends nothing: liveness and figures go straight to the agent hash and the heartbeat sorted set.
    expect(await redis.hmget(store.keys.agent("agent-1"), "cpu", "memoryMb")).toEqual(["12.5", "100.0"]);
    expect(await redis.zscore(store.keys.heartbeats, "agent-1")).toBe(await redis.hget(store.keys.agent("agent-1"), "lastHeartbeat"));
  });
});

describe("what a task appends", () => {
  const announced = async (on: Store) =>
    (await redis.xrange(on.keys.events, "-", "+")).flatMap(([, fields]) => {
      const parsed = parseEventEntry(fields);
      return parsed.ok && parsed.event.kind === "task:assigned" ? [parsed.event.taskId] : [];
    });

  it("announces a task (task:assigned) when its owner's backlog (queued tasks no free slot takes) is then a power of two", async () => {
    const local = new Store(redis, testNamespace("backlog"));
    await local.registerAgent({ id: "a", capabilities: [], concurrency: 2, priority: 0 });
    // b1 and b2 fill its two slots; b3 starts a backlog (1), which b4 (2) and b6 (4) double.
    const burst = ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9"];
    for (const id of burst) await local.submit(task(id), "a");
    expect(await announced(local)).toEqual(["b3", "b4", "b6"]);
    for (const id of burst) {
      await local.claim(id, "a", 1);
      await local.finish(id, "a", 1, "completed", "null");
    }
    // Running tasks take slots as queued ones do: with c1 running, c2 takes the last free slot
    // and c3 starts a backlog again.
    await local.submit(task("c1"), "a");
    await local.claim("c1", "a", 1);
    await local.submit(task("c2"), "a");
    await local.submit(task("c3"), "a");
    expect(await announced(local)).toEqual(["b3", "b4", "b6", "c3"]);
    // A placement follows the same rule: c4 doubles the backlog, c5 does not.
    for (const id of ["c4", "c5"]) {
      await local.submit(task(id), "");
      await local.assign(id, "a", 0);
    }
    expect(await announced(local)).toEqual(["b3", "b4", "b6", "c3", "c4"]);
  });

  it("announces a task queued behind more running tasks than slots (an agent registered again with a lower concurrency)", async () => {
    const local = new Store(redis, testNamespace("backlog-over"));
    await local.registerAgent({ id: "a", capabilities: [], concurrency: 2, priority: 0 });
    for (const id of ["r1", "r2"]) {
      await local.submit(task(id), "a");
      await local.claim(id, "a", 1);
    }
    await local.registerAgent({ id: "a", capabilities: [], concurrency: 1, priority: 0 });
    await local.submit(task("r3"), "a");
    expect(await announced(local)).toEqual(["r3"]);
  });

  it("announces a placement that starts a backlog", async () => {
    const local = new Store(redis, testNamespace("backlog-placed"));
    await register(local, "a");
    await local.submit(task("p1"), "a");
    await local.submit(task("p2"), "");
    await local.assign("p2", "a", 0);
    expect(await announced(local)).toEqual(["p2"]);
  });

  it("carries each task's wait from submission to its first start on the event that ends its first finished run, once", async () => {
    const local = new Store(redis, testNamespace("wait"));
    await register(local, "a", "b");
    const waits = async () =>
      (await redis.xrange(local.keys.events, "-", "+")).flatMap(([, fields]) => {
        const parsed = parseEventEntry(fields);
        return parsed.ok && "waitMs" in parsed.event && parsed.event.waitMs !== undefined ? [[parsed.event.kind, parsed.event.waitMs]] : [];
      });
    await local.submit(TaskSpecSchema.parse({ id: "w1", type: "resize", maxAttempts: 3 }), "a");
    await local.claim("w1", "a", 1);
    const started = (await local.getTask("w1"))!;
    expect(await waits()).toEqual([]);
    // A run cut off (its agent died, the task handed over) ends no run: the next finished one carries the first start's wait.
    await redis.set(local.keys.fence, 1);
    await local.reassign("w1", "a", "b", "running", 1, 1);
    await local.claim("w1", "b", 2);
    await local.finish("w1", "b", 2, "retry", "again");
    await local.claim("w1", "b", 2);
    await local.finish("w1", "b", 2, "completed", "null");
    expect(await waits()).toEqual([["task:failed", started.startedAt! - started.createdAt]]);
  });

  it("carries the wait on the event that ends a task whose only run was cut off: out of attempts at its next claim, cancelled while queued again, or cancelled at its next claim", async () => {
    const local = new Store(redis, testNamespace("wait-cut-off"));
    await register(local, "a", "b");
    await redis.set(local.keys.fence, 1);
    const waitOf = async (taskId: string) => {
      const record = (await local.getTask(taskId))!;
      return record.startedAt! - record.createdAt;
    };
    const endingEvent = async (taskId: string) =>
      (await redis.xrange(local.keys.events, "-", "+")).flatMap(([, fields]) => {
        const parsed = parseEventEntry(fields);
        return parsed.ok && "taskId" in parsed.event && parsed.event.taskId === taskId && "waitMs" in parsed.event
          ? [[parsed.event.kind, parsed.event.waitMs]]
          : [];
      });
    /** Submitted to a, started there, and handed to b as if a had died while running it. */
    const cutOff = async (taskId: string, maxAttempts: number) => {
      await local.submit(TaskSpecSchema.parse({ id: taskId, type: "resize", maxAttempts }), "a");
      await local.claim(taskId, "a", 1);
      const waitMs = await waitOf(taskId);
      await local.reassign(taskId, "a", "b", "running", 1, 1);
      return waitMs;
    };

    const exhausted = await cutOff("x1", 1);
    await expect(local.claim("x1", "b", 2)).rejects.toThrow();
    expect(await endingEvent("x1")).toEqual([["task:failed", exhausted]]);

    const cancelledQueued = await cutOff("x2", 2);
    await cancelTask(local, "x2", 60_000);
    expect(await endingEvent("x2")).toEqual([["task:cancelled", cancelledQueued]]);

    await local.submit(TaskSpecSchema.parse({ id: "x3", type: "resize", maxAttempts: 2 }), "a");
    await local.claim("x3", "a", 1);
    const cancelledAtClaim = await waitOf("x3");
    expect(await cancelTask(local, "x3", 60_000)).toBe("cancelling");
    await local.reassign("x3", "a", "b", "running", 1, 1);
    await expect(local.claim("x3", "b", 2)).rejects.toThrow();
    expect(await endingEvent("x3")).toEqual([["task:cancelled", cancelledAtClaim]]);
  });
});

describe("owned sets", () => {
  it("hold exactly the tasks queued on and run by each agent, through every script", async () => {
    const local = new Store(redis, testNamespace("owned"));
    await register(local, "a", "b");
    const owned = async (agent: string) => ({
      queued: (await redis.smembers(local.keys.queuedOf(agent))).sort(),
      running: (await redis.smembers(local.keys.runningOf(agent))).sort(),
    });
    await local.submit(task("o1"), "a");
    await local.submit(task("o2"), "a");
    await local.submit(task("o3"), "");
    expect(await owned("a")).toEqual({ queued: ["o1", "o2"], running: [] });
    await local.claim("o1", "a", 1);
    expect(await owned("a")).toEqual({ queued: ["o2"], running: ["o1"] });
    await local.finish("o1", "a", 1, "retry", "again");
    expect(await owned("a")).toEqual({ queued: ["o1", "o2"], running: [] });
    await redis.set(local.keys.fence, 1);
    await local.move("o2", "a", "b", 1, { id: "d1", fence: 1 }, 60_000);
    await local.assign("o3", "b", 0);
    expect(await owned("a")).toEqual({ queued: ["o1"], running: [] });
    expect(await owned("b")).toEqual({ queued: ["o2", "o3"], running: [] });
    await local.claim("o2", "b", 2);
    await local.finish("o2", "b", 2, "completed", "null");
    expect(await owned("b")).toEqual({ queued: ["o3"], running: [] });
  });
});

/** The entries after `after`, validated as a replica validates them. */
async function entriesAfter(after: string, key: string): Promise<FoldEntry[]> {
  return (await redis.xrange(key, `(${after}`, "+")).map(([id, fields]) => {
    const parsed = parseEventEntry(fields);
    return parsed.ok ? { id, ...effectsOf(parsed.event) } : { id, dead: parsed.reason };
  });
}

describe("fold", () => {
  it("applies a batch only for the call that found the cursor where the batch starts: two racing folds of one batch apply it once", async () => {
    const local = new Store(redis, testNamespace("fold"));
    await register(local, "agent-1");
    const cursor = await local.foldCursor();
    expect(cursor).toEqual({ id: "0-0", folded: 0 });
    await local.submit(task("f1"), "agent-1");
    await local.submit(task("f2"), "agent-1");
    await local.claim("f1", "agent-1", 1);
    await local.finish("f1", "agent-1", 1, "completed", "null");
    await redis.xadd(local.keys.events, "*", "event", "{not json");
    const entries = await entriesAfter(cursor.id, local.keys.events);
    const [a, b] = await Promise.all([local.fold(entries, cursor.id), local.fold(entries, cursor.id)]);
    // f2's assignment (it starts a backlog), f1's completion, and the registration whose agent:registered event came first.
    expect(a.applied + b.applied).toBe(3);
    expect(a.deadLettered + b.deadLettered).toBe(1);
    expect(a.alreadyFolded + b.alreadyFolded).toBe(4);
    const dead = await redis.xrange(local.keys.deadLetter, "-", "+");
    expect(dead).toHaveLength(1);
    expect(dead[0]![1]).toContain("{not json");
    expect(await local.foldCursor()).toEqual({ id: entries[3]!.id, folded: 4 });
    // A replay of the batch after the cursor moved applies nothing.
    expect(await local.fold(entries, cursor.id)).toEqual({ applied: 0, deadLettered: 0, alreadyFolded: 4 });
  });

  it("refuses a batch whose entries do not each follow the one before, the first after the cursor, moving nothing", async () => {
    const local = new Store(redis, testNamespace("fold-behind"));
    await register(local, "a");
    await local.foldCursor();
    await local.fold(await entriesAfter("0-0", local.keys.events), "0-0");
    const folded = await local.foldCursor();
    await local.submit(task("b1"), "a");
    await local.submit(task("b2"), "a");
    await local.claim("b1", "a", 1);
    await local.finish("b1", "a", 1, "completed", "null");
    const [first, second] = await entriesAfter(folded.id, local.keys.events);
    const refolded = (await entriesAfter("0-0", local.keys.events))[0]!;
    // Marks are checked, not consumed: an entry named twice, or one at or before the cursor, would
    // find its mark and count again. Such a batch is refused whole.
    for (const batch of [
      [first!, first!],
      [second!, first!],
      [refolded, first!],
    ]) {
      await expect(local.fold(batch, folded.id)).rejects.toThrow(/does not follow (the cursor|the entry before it)/);
    }
    expect(await local.foldCursor()).toEqual(folded);
    expect(await local.fold([first!, second!], folded.id)).toEqual({ applied: 2, deadLettered: 0, alreadyFolded: 0 });
  });
});

/**
 * A stream folded the way earlier versions did: `appended` entries, the `coordinators` group
 * created at its start, `read` of them delivered to it and the first `acknowledged` acknowledged.
 * Returns the entries' ids.
 */
async function foldedByLegacyGroup(local: Store, counts: { appended: number; read: number; acknowledged: number }): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < counts.appended; i++) ids.push((await redis.xadd(local.keys.events, "*", "event", `{"n":${i}}`))!);
  await redis.xgroup("CREATE", local.keys.events, LEGACY_FOLD_GROUP, "0");
  await redis.xreadgroup("GROUP", LEGACY_FOLD_GROUP, "old", "COUNT", counts.read, "STREAMS", local.keys.events, ">");
  await redis.xack(local.keys.events, LEGACY_FOLD_GROUP, ...ids.slice(0, counts.acknowledged));
  return ids;
}

describe("fold of a batch", () => {
  it("applies a chain of batches once each, summed per key and field; a batch sent against a stale cursor applies nothing", async () => {
    const local = new Store(redis, testNamespace("fold-batch"));
    await register(local, "a");
    const { id: start } = await local.foldCursor();
    for (let i = 0; i < 18; i++) {
      await local.submit(task(`c${i}`), "a");
      await local.claim(`c${i}`, "a", 1);
      await local.finish(`c${i}`, "a", 1, "completed", "null");
    }
    const all = await entriesAfter(start, local.keys.events);
    // The registration, then one event per task (its completion).
    expect(all).toHaveLength(19);
    const first = all.slice(0, 8);
    expect(await local.fold(first, start)).toEqual({ applied: 8, deadLettered: 0, alreadyFolded: 0 });
    // The whole batch again, as a replica that read before the first fold would send it.
    expect(await local.fold(all, start)).toEqual({ applied: 0, deadLettered: 0, alreadyFolded: 19 });
    expect(await local.fold(all.slice(8), first[7]!.id)).toEqual({ applied: 11, deadLettered: 0, alreadyFolded: 0 });
    expect(await redis.hmget(local.keys.workload("a"), "done", "durationCount")).toEqual(["18", "18"]);
    expect(await redis.hget(local.keys.durations, "resize:count")).toBe("18");
    expect(await local.foldCursor()).toEqual({ id: all[18]!.id, folded: 19 });
  });

  it("a namespace folded through the consumer group of earlier versions starts its cursor where the group had read", async () => {
    const local = new Store(redis, testNamespace("fold-upgrade"));
    const ids = await foldedByLegacyGroup(local, { appended: 5, read: 3, acknowledged: 3 });
    expect(await local.foldCursor()).toEqual({ id: ids[2], folded: 3 });
    expect((await readFoldProgress(local)).lag).toBe(2);
  });

  it("counts the folded entries from what follows the group's id, after deletions in the middle too", async () => {
    const local = new Store(redis, testNamespace("fold-upgrade-deleted"));
    const ids = await foldedByLegacyGroup(local, { appended: 6, read: 4, acknowledged: 4 });
    await redis.xdel(local.keys.events, ids[1]!, ids[4]!);
    // Six added, one left after the group's id (the fifth was deleted unread): five folded or gone, lag 1.
    expect(await local.foldCursor()).toEqual({ id: ids[3], folded: 5 });
    expect((await readFoldProgress(local)).lag).toBe(1);
  });

  it("sees the fold caught up only once the cursor stands at the stream's newest entry, deletions inside the stream notwithstanding", async () => {
    const local = new Store(redis, testNamespace("fold-caught-up"));
    const { events, foldCursor } = local.keys;
    expect((await readFoldProgress(local)).lastEntryId).toBeNull();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await redis.xadd(events, "*", "event", String(i)))!);
    expect(foldCaughtUp(await readFoldProgress(local))).toBe(false);
    await redis.hset(foldCursor, "id", ids[1]!, "folded", 2);
    expect(await readFoldProgress(local)).toEqual({ lag: 1, cursor: ids[1], lastEntryId: ids[2], appended: 3 });
    expect(foldCaughtUp(await readFoldProgress(local))).toBe(false);
    await redis.hset(foldCursor, "id", ids[2]!, "folded", 3);
    expect(foldCaughtUp(await readFoldProgress(local))).toBe(true);
    const deleted = (await redis.xadd(events, "*", "event", "deleted"))!;
    const late = (await redis.xadd(events, "*", "event", "late"))!;
    await redis.xdel(events, deleted);
    expect(foldCaughtUp(await readFoldProgress(local))).toBe(false);
    await redis.hset(foldCursor, "id", late, "folded", 5);
    expect(foldCaughtUp(await readFoldProgress(local))).toBe(true);
    expect((await readFoldProgress(local)).lag).toBe(0);
  });

  it("does not start the cursor while the legacy group has pending entries", async () => {
    const local = new Store(redis, testNamespace("fold-upgrade-pending"));
    const ids = await foldedByLegacyGroup(local, { appended: 3, read: 3, acknowledged: 1 });
    await expect(local.foldCursor()).rejects.toThrow(LegacyFoldPendingError);
    await expect(local.foldCursor()).rejects.toThrow(/has 2 pending entries: stop the old coordinators first/);
    expect(await redis.exists(local.keys.foldCursor)).toBe(0);
    await redis.xack(local.keys.events, LEGACY_FOLD_GROUP, ids[1]!, ids[2]!);
    expect(await local.foldCursor()).toEqual({ id: ids[2], folded: 3 });
  });
});

describe("fold lease", () => {
  it("one replica holds it at a time; its holder extends it or gives it up, and another takes it then", async () => {
    const local = new Store(redis, testNamespace("fold-lease"));
    expect(await local.holdFoldLease("r1", 60_000)).toEqual({ held: true, remainingMs: 0 });
    const refused = await local.holdFoldLease("r2", 60_000);
    expect(refused.held).toBe(false);
    expect(refused.remainingMs).toBeGreaterThan(50_000);
    expect((await local.holdFoldLease("r1", 60_000)).held).toBe(true);
    // Only its holder gives it up.
    await local.releaseFoldLease("r2");
    expect(await redis.get(local.keys.foldLease)).toBe("r1");
    await local.releaseFoldLease("r1");
    expect((await local.holdFoldLease("r2", 60_000)).held).toBe(true);
  });
});

describe("who may be given a task", () => {
  it("a new task's named owner must be registered, alive, not draining, and capable", async () => {
    const local = new Store(redis, testNamespace("owners"), { agentTtlMs: 60_000 });
    await local.registerAgent({ id: "gpu", capabilities: ["gpu"], concurrency: 1, priority: 0 });
    await register(local, "plain", "leaving");
    await local.drain("leaving");
    const gpuTask = TaskSpecSchema.parse({ id: "g1", requiredCapabilities: ["gpu"] });
    await expect(local.submit(task("n1"), "never-registered")).rejects.toBeInstanceOf(AgentUnknownError);
    await expect(local.submit(task("n2"), "leaving")).rejects.toBeInstanceOf(AgentNotAliveError);
    await expect(local.submit(gpuTask, "plain")).rejects.toBeInstanceOf(AgentIncapableError);
    expect(await local.submit(gpuTask, "gpu")).toMatchObject({ created: true, owner: "gpu" });
    // Refused submits leave nothing behind.
    for (const id of ["n1", "n2"]) expect(await local.getTask(id)).toBeUndefined();
    // A heartbeat older than the TTL is a dead agent.
    const strict = new Store(redis, local.namespace, { agentTtlMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await expect(strict.submit(task("n3"), "plain")).rejects.toBeInstanceOf(AgentNotAliveError);
  });

  it("moves, placements and reassignments refuse a target that drains; a draining agent starts nothing new", async () => {
    const local = new Store(redis, testNamespace("targets"));
    await register(local, "a", "b");
    await redis.set(local.keys.fence, 1);
    await local.submit(task("t1"), "a");
    await local.submit(task("t2"), "");
    await local.submit(task("t3"), "a");
    await local.drain("b");
    await expect(local.move("t1", "a", "b", 1, { id: "d1", fence: 1 }, 60_000)).rejects.toBeInstanceOf(AgentNotAliveError);
    await expect(local.assign("t2", "b", 0)).rejects.toBeInstanceOf(AgentNotAliveError);
    await expect(local.reassign("t1", "a", "b", "queued", 1, 1)).rejects.toBeInstanceOf(AgentNotAliveError);
    expect(await local.getTask("t1")).toMatchObject({ owner: "a", epoch: 1 });
    // A refused move or reassignment is not counted as one.
    expect(await local.readMoveCount()).toBe(0);
    await local.drain("a");
    await expect(local.claim("t3", "a", 1)).rejects.toBeInstanceOf(AgentNotAliveError);
    expect(await local.getTask("t3")).toMatchObject({ state: "queued", attempts: 0 });
  });

  it("a replayed move, assignment or reassignment succeeds again while the task still waits where it put it", async () => {
    const local = new Store(redis, testNamespace("replays"));
    await register(local, "a", "b", "c");
    await redis.set(local.keys.fence, 1);
    await local.submit(task("m1"), "a");
    await local.submit(task("m2"), "");
    await local.submit(task("m3"), "a");
    const directive = { id: "d1", fence: 1 };
    expect(await local.move("m1", "a", "b", 1, directive, 60_000)).toBe(2);
    expect(await local.move("m1", "a", "b", 1, directive, 60_000)).toBe(2);
    // The replay is not a second move: one task:stolen, the task once in b's set.
    expect(await redis.smembers(local.keys.queuedOf("b"))).toEqual(["m1"]);
    // Another directive cannot pass its move off as this one's.
    await expect(local.move("m1", "a", "b", 1, { id: "d2", fence: 1 }, 60_000)).rejects.toBeInstanceOf(StaleTaskError);
    expect(await local.assign("m2", "c", 0)).toBe(1);
    expect(await local.assign("m2", "c", 0)).toBe(1);
    expect(await local.reassign("m3", "a", "c", "queued", 1, 1)).toBe(2);
    expect(await local.reassign("m3", "a", "c", "queued", 1, 1)).toBe(2);
    // The move counter (what the leader's snapshot check reads) counted each once, not the replays.
    expect(await local.readMoveCount()).toBe(2);
    // Even after the fence moved on: the replay changes nothing, it only confirms.
    await redis.set(local.keys.fence, 2);
    expect(await local.move("m1", "a", "b", 1, directive, 60_000)).toBe(2);
    // Once the task runs, a replay must not hand it out again.
    await local.claim("m1", "b", 2);
    await expect(local.move("m1", "a", "b", 1, directive, 60_000)).rejects.toThrow();
    const stolen = (await redis.xrange(local.keys.events, "-", "+")).filter(([, f]) => f[1]!.includes('"task:stolen"'));
    expect(stolen).toHaveLength(1);
  });

  it("a move or reassignment of a task no longer in the expected state says which state it expected", async () => {
    const local = new Store(redis, testNamespace("states"));
    await register(local, "a", "b");
    await redis.set(local.keys.fence, 1);
    await local.submit(task("s1"), "a");
    await local.submit(task("s2"), "a");
    await local.claim("s1", "a", 1);
    await expect(local.move("s1", "a", "b", 1, { id: "d1", fence: 1 }, 60_000)).rejects.toBeInstanceOf(TaskNotQueuedError);
    await expect(local.reassign("s1", "a", "b", "queued", 1, 1)).rejects.toBeInstanceOf(TaskNotQueuedError);
    await expect(local.reassign("s2", "a", "b", "running", 1, 1)).rejects.toBeInstanceOf(TaskNotRunningError);
    expect(await local.getTask("s1")).toMatchObject({ owner: "a", epoch: 1, state: "running" });
    expect(await local.getTask("s2")).toMatchObject({ owner: "a", epoch: 1, state: "queued" });
  });
});

describe("retention", () => {
  it("trims the event stream below the fold cursor and what other groups acknowledged, never further, and not at all before the cursor exists", async () => {
    const local = new Store(redis, testNamespace("trim"));
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await redis.xadd(local.keys.events, "*", "event", `{"n":${i}}`))!);
    expect(await local.trimEvents(100)).toBe(0);
    await local.foldCursor();
    // Folded up to entry 3 (as dead letters: the entries are no events): entry 3 and everything after it stay.
    await local.fold(
      ids.slice(0, 4).map((id) => ({ id, dead: "test" })),
      "0-0",
    );
    expect(await local.trimEvents(100)).toBe(3);
    expect((await redis.xrange(local.keys.events, "-", "+")).map(([id]) => id)).toEqual(ids.slice(3));
    expect(await local.trimEvents(100)).toBe(0);
    // Another reader's group holds the stream back from its oldest unacknowledged entry (entry 4)…
    await redis.xgroup("CREATE", local.keys.events, "reader", "0");
    await redis.xreadgroup("GROUP", "reader", "r1", "COUNT", 3, "STREAMS", local.keys.events, ">");
    await redis.xack(local.keys.events, "reader", ids[3]!);
    await local.fold(
      ids.slice(4, 8).map((id) => ({ id, dead: "test" })),
      ids[3]!,
    );
    expect(await local.trimEvents(100)).toBe(1);
    expect((await redis.xrange(local.keys.events, "-", "+")).map(([id]) => id)).toEqual(ids.slice(4));
    // …but the group earlier versions folded with holds nothing back.
    await redis.xgroup("DESTROY", local.keys.events, "reader");
    await redis.xgroup("CREATE", local.keys.events, LEGACY_FOLD_GROUP, "0");
    expect(await local.trimEvents(100)).toBe(3);
  });

  it("a finished task's record expires after the retention", async () => {
    const local = new Store(redis, testNamespace("expire"));
    await register(local, "a");
    await local.submit(task("e1"), "a");
    await local.claim("e1", "a", 1);
    await local.finish("e1", "a", 1, "completed", "null", 60_000);
    const ttl = await redis.pttl(local.keys.task("e1"));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
