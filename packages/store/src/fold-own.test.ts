import {
  effectsOf,
  type FoldedTaskFigures,
  parseEventEntry,
  SQUARED_DURATION_CAP_MS,
  taskFiguresOf,
  TaskSpecSchema,
  type WorkstealEvent,
} from "@worksteal/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { testNamespace } from "@worksteal/testkit";
import { appendEvent } from "./event-stream.js";
import { cancelTask } from "./task-control.js";
import { Store, type FoldEntry } from "./store.js";

const redis = sharedRedis();

async function register(on: Store, ...ids: string[]) {
  for (const id of ids) await on.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
}

/** Agent `a` registered, and its registration (an agent event: the slow path's) folded; returns the cursor after it. */
async function registeredAndFolded(on: Store): Promise<string> {
  await register(on, "a");
  const start = await on.foldCursor();
  await on.fold((await slowEntries(on, start.id, 1)).entries, start.id);
  return (await on.foldCursor()).id;
}

const task = (id: string, maxAttempts = 2, type = "resize") => TaskSpecSchema.parse({ id, type, maxAttempts });

/** A task submitted to `agentId`, claimed and completed: one event, its completion (carrying its wait). */
async function completed(on: Store, id: string, agentId = "a"): Promise<void> {
  await on.submit(task(id), agentId);
  await on.claim(id, agentId, 1);
  await on.finish(id, agentId, 1, "completed", "null");
}

/** The `count` entries after `after`, validated as a replica validates them (the slow path). */
async function slowEntries(on: Store, after: string, count = 10_000): Promise<{ entries: FoldEntry[]; events: WorkstealEvent[] }> {
  const events: WorkstealEvent[] = [];
  const entries = (await redis.xrange(on.keys.events, `(${after}`, "+", "COUNT", count)).map(([id, fields]): FoldEntry => {
    const parsed = parseEventEntry(fields);
    if (!parsed.ok) return { id, dead: parsed.reason };
    events.push(parsed.event);
    return { id, ...effectsOf(parsed.event) };
  });
  return { entries, events };
}

/**
 * A start as an agent of an earlier version appended it (its claim script: the event and its
 * marker), for the rolling upgrade's mixed stream: this version's claim appends none.
 */
async function earlierAgentStart(on: Store, taskId: string, agentId: string, epoch: number, waitMs?: number): Promise<string> {
  const event = { kind: "task:started", taskId, agentId, epoch, attempt: 1, restarted: false, ...(waitMs === undefined ? {} : { waitMs }), at: Date.now() };
  const id = (await redis.xadd(on.keys.events, "*", "event", JSON.stringify(event)))!;
  await redis.hset(on.keys.task(taskId), `ev:${id}`, 1);
  return id;
}

/** Every kind of task event, written by the task scripts themselves (but a start: by an earlier agent's), with agent events among them. */
async function everyTaskEvent(on: Store): Promise<void> {
  await register(on, "a", "b", "c");
  await redis.set(on.keys.fence, 1);
  await on.submit(task("t1"), "a");
  await on.submit(task("t2"), "a");
  await on.submit(task("t3", 2, "encode"), "a");
  await on.submit(task("u1"), "");
  await on.assign("u1", "b", 0);
  await on.claim("t1", "a", 1);
  await on.finish("t1", "a", 1, "retry", "again");
  await on.claim("t1", "a", 1);
  await on.finish("t1", "a", 1, "completed", "null");
  await on.move("t2", "a", "c", 1, { id: "d1", fence: 1 }, 60_000);
  await on.claim("t2", "c", 2);
  await earlierAgentStart(on, "t2", "c", 2, 7);
  // Agent events (as the compatibility facade appends them), for the slow path.
  await appendEvent(on, { kind: "agent:duration", agentId: "c", taskType: "resize", durationMs: 12.5, at: Date.now() });
  await appendEvent(on, { kind: "agent:metrics", agentId: "c", cpu: 10, memoryMb: 100, at: Date.now() });
  await on.reassign("t2", "c", "b", "running", 2, 1);
  await on.reassign("t3", "a", "", "queued", 1, 1);
  await on.submit(task("x1", 1, "encode"), "c");
  await on.claim("x1", "c", 1);
  await on.reassign("x1", "c", "a", "running", 1, 1);
  await expect(on.claim("x1", "a", 2)).rejects.toThrow();
  await on.claim("u1", "b", 1);
  await on.finish("u1", "b", 1, "failed", "for good");
  await on.submit(task("k1"), "b");
  await cancelTask(on, "k1", 60_000);
}

/** Every key of a namespace with its type and content, the namespace taken out of the names. */
async function snapshot(on: Store): Promise<Record<string, unknown>> {
  const keys = (await redis.keys(`${on.keys.prefix}*`)).sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const name = key.slice(on.keys.prefix.length);
    const type = await redis.type(key);
    if (type === "hash") out[name] = await redis.hgetall(key);
    else if (type === "set") out[name] = (await redis.smembers(key)).sort();
    else if (type === "zset") out[name] = await redis.zrangebyscore(key, "-inf", "+inf", "WITHSCORES");
    else if (type === "stream") out[name] = await redis.xrange(key, "-", "+");
    else if (type === "string") out[name] = await redis.get(key);
    else out[name] = type;
  }
  return out;
}

/** Copies every key of `from` into `to` (stream ids, markers and all): two namespaces with one history. */
async function copyNamespace(from: Store, to: Store): Promise<void> {
  for (const key of await redis.keys(`${from.keys.prefix}*`)) {
    const dump = await redis.dumpBuffer(key);
    const ttl = await redis.pttl(key);
    await redis.restore(to.keys.prefix + key.slice(from.keys.prefix.length), ttl > 0 ? ttl : 0, dump);
  }
}

/** Folds the whole stream: fast while it can, the slow run (validated here, fold-4.lua) where it stops. */
async function foldFastAndSlow(on: Store, batch: number): Promise<{ figures: FoldedTaskFigures; slowRuns: number[] }> {
  const figures: FoldedTaskFigures = { waitsMs: [], completed: [], failed: [] };
  const slowRuns: number[] = [];
  for (;;) {
    const { id } = await on.foldCursor();
    const own = await on.foldOwn(id, batch);
    if (!own) throw new Error("the cursor moved under a lone folder");
    figures.waitsMs.push(...own.figures.waitsMs);
    figures.completed.push(...own.figures.completed);
    figures.failed.push(...own.figures.failed);
    if (own.slowRun) {
      expect(own.slowRun.from > own.cursor || own.applied === 0).toBe(true);
      slowRuns.push(own.slowRun.count);
      const { entries, events } = await slowEntries(on, own.cursor, own.slowRun.count);
      expect(entries[0]!.id).toBe(own.slowRun.from);
      await on.fold(entries, own.cursor);
      const slow = taskFiguresOf(events);
      figures.waitsMs.push(...slow.waitsMs);
      figures.completed.push(...slow.completed);
      figures.failed.push(...slow.failed);
    } else if (own.applied < batch) return { figures, slowRuns };
  }
}

describe("foldOwn (the fold's fast path)", () => {
  it("leaves every hash as the slow path does, with the same figures, on a stream of every task event kind", async () => {
    const fast = new Store(redis, testNamespace("fold-own-fast"));
    const slow = new Store(redis, testNamespace("fold-own-slow"));
    await fast.foldCursor();
    await everyTaskEvent(fast);
    await copyNamespace(fast, slow);

    const { entries, events } = await slowEntries(slow, "0-0");
    expect(await slow.fold(entries, "0-0")).toMatchObject({ alreadyFolded: 0, deadLettered: 0 });
    const folded = await foldFastAndSlow(fast, 4);

    expect(await snapshot(fast)).toEqual(await snapshot(slow));
    expect(folded.figures).toEqual(taskFiguresOf(events));
    // The registrations and the agent events stop the fast path; each slow run then reaches as far
    // as its call looked (4 entries a call here, those applied before its stop included), since no
    // FAST_RUN task events in a row follow its stop.
    expect(folded.slowRuns).toEqual([4, 3]);
    const kinds = new Set(events.map((e) => e.kind));
    for (const kind of ["task:assigned", "task:started", "task:completed", "task:failed", "task:stolen", "task:reassigned", "task:cancelled"]) {
      expect(kinds).toContain(kind);
    }
  });

  it("applies a run exactly once: of two calls from one cursor one applies, the other finds the cursor moved; a stale cursor applies nothing", async () => {
    const on = new Store(redis, testNamespace("fold-own-once"));
    const after = await registeredAndFolded(on);
    for (let i = 0; i < 5; i++) await completed(on, `o${i}`);
    const [one, two] = await Promise.all([on.foldOwn(after, 100), on.foldOwn(after, 100)]);
    expect([one?.applied, two?.applied].sort()).toEqual([5, undefined]);
    const done = (one ?? two)!;
    expect(done.slowRun).toBeUndefined();
    expect(done.figures.completed).toHaveLength(5);
    expect(await on.foldOwn(after, 100)).toBeUndefined();
    expect(await on.foldCursor()).toEqual({ id: done.cursor, folded: 6 });
    expect(await redis.hmget(on.keys.workload("a"), "done", "durationCount")).toEqual(["5", "5"]);
    expect(await redis.hget(on.keys.durations, "resize:count")).toBe("5");
    // Caught up: nothing to apply, nothing to stop at.
    expect(await on.foldOwn(done.cursor, 100)).toMatchObject({ applied: 0, cursor: done.cursor });
  });

  it("applies a run's effects on both paths though a hand edit made the cursor's count no integer", async () => {
    const on = new Store(redis, testNamespace("fold-own-edited-count"));
    const after = await registeredAndFolded(on);
    await redis.hset(on.keys.foldCursor, "folded", "not a number");
    for (const id of ["e0", "e1"]) await completed(on, id);
    const own = (await on.foldOwn(after, 1))!;
    expect(own.applied).toBe(1);
    const slow = await slowEntries(on, own.cursor);
    await on.fold(slow.entries, own.cursor);
    expect((await redis.hget(on.keys.foldCursor, "id"))!).toBe(slow.entries.at(-1)!.id);
    expect(await redis.hmget(on.keys.workload("a"), "done", "durationCount")).toEqual(["2", "2"]);
  });

  it("with no cursor named ('') folds from wherever the cursor stands: calls pipelined one behind another fold the runs that follow each other, each once", async () => {
    const on = new Store(redis, testNamespace("fold-own-pipelined"));
    const after = await registeredAndFolded(on);
    for (let i = 0; i < 21; i++) await completed(on, `p${i}`);
    const [first, second, third] = await Promise.all([on.foldOwn(after, 10), on.foldOwn("", 10), on.foldOwn("", 10)]);
    expect([first?.applied, second?.applied, third?.applied]).toEqual([10, 10, 1]);
    const ids = (await redis.xrange(on.keys.events, `(${after}`, "+")).map(([id]) => id);
    expect([first?.cursor, second?.cursor, third?.cursor]).toEqual([ids[9], ids[19], ids[20]]);
    expect(await on.foldCursor()).toEqual({ id: ids[20], folded: 22 });
    expect(await redis.hmget(on.keys.workload("a"), "done", "durationCount")).toEqual(["21", "21"]);
    expect([first, second, third].flatMap((own) => own!.figures.completed)).toHaveLength(21);
    // Caught up, and a cursor deleted by hand: nothing applied, and the caller is told.
    expect(await on.foldOwn("", 10)).toMatchObject({ applied: 0, cursor: ids[20] });
    await redis.del(on.keys.foldCursor);
    expect(await on.foldOwn("", 10)).toBeUndefined();
  });

  it("stops at an agent event and at a forged task event, which the slow path dead-letters; then goes on", async () => {
    const on = new Store(redis, testNamespace("fold-own-stop"));
    await register(on, "a");
    const start = await on.foldCursor();
    // s1 starts a backlog behind s0 on a (one slot): its assignment is announced.
    await on.submit(task("s0"), "a");
    await on.submit(task("s1"), "a");
    await appendEvent(on, { kind: "agent:metrics", agentId: "a", cpu: 5, memoryMb: 50, at: Date.now() });
    await appendEvent(on, { kind: "agent:heartbeat", agentId: "a", at: Date.now() });
    const forged = JSON.stringify({ kind: "task:completed", taskId: "s1", agentId: "a", taskType: "resize", epoch: 1, durationMs: 5, at: Date.now() });
    const forgedId = (await redis.xadd(on.keys.events, "*", "event", forged))!;
    await on.claim("s0", "a", 1);
    await on.finish("s0", "a", 1, "completed", "null");

    // The registration first.
    const first = (await on.foldOwn(start.id, 100))!;
    // No FAST_RUN task events in a row follow: the slow run would take the whole stream.
    expect(first).toMatchObject({ applied: 0, cursor: start.id, slowRun: { count: 6 } });
    await on.fold((await slowEntries(on, start.id, 1)).entries, start.id);
    // task:assigned, then the stop at the agent events; the slow run takes the rest (4 entries), of
    // which the two agent events are folded the slow way here, to see the fast path stop at the forged one.
    let cursor = (await on.foldCursor()).id;
    const second = (await on.foldOwn(cursor, 100))!;
    expect(second.applied).toBe(1);
    expect(second.slowRun).toBeDefined();
    expect(second.slowRun!.count).toBe(4);
    const run = await slowEntries(on, second.cursor, 2);
    expect(run.entries.every((e) => "agent" in e)).toBe(true);
    await on.fold(run.entries, second.cursor);
    cursor = (await on.foldCursor()).id;
    const third = (await on.foldOwn(cursor, 100))!;
    expect(third).toMatchObject({ applied: 0, slowRun: { from: forgedId, count: 2 } });
    const forgedRun = await slowEntries(on, cursor, 1);
    expect(await on.fold(forgedRun.entries, cursor)).toMatchObject({ applied: 0, deadLettered: 1 });
    const dead = await redis.xrange(on.keys.deadLetter, "-", "+");
    expect(dead).toHaveLength(1);
    expect(dead[0]![1]).toContain("no task script wrote this event for task s1 (forged, replayed, or its record expired)");
    // The real completion after it folds fast; the forged one counted nothing.
    const fourth = (await on.foldOwn(forgedId, 100))!;
    expect(fourth).toMatchObject({ applied: 1 });
    expect(fourth.slowRun).toBeUndefined();
    expect(await redis.hget(on.keys.workload("a"), "done")).toBe("1");
  });

  it("refuses forged and replayed task events of a task whose folded events left their markers, on both paths", async () => {
    const on = new Store(redis, testNamespace("fold-own-forged-after"));
    const after = await registeredAndFolded(on);
    await on.submit(task("r1"), "a");
    await on.claim("r1", "a", 1);
    await on.finish("r1", "a", 1, "retry", "again");
    await on.claim("r1", "a", 1);
    await on.finish("r1", "a", 1, "completed", "null");
    const written = (await redis.xrange(on.keys.events, `(${after}`, "+")) as Array<[string, string[]]>;
    const folded = (await on.foldOwn(after, 100))!;
    expect(folded).toMatchObject({ applied: 2, cursor: written[1]![0] });
    // Checked, not consumed: the two marks (the retry's failure, the completion) stay in the record.
    const marks = Object.keys(await redis.hgetall(on.keys.task("r1"))).filter((f) => f.startsWith("ev:"));
    expect(marks.sort()).toEqual(written.map(([id]) => `ev:${id}`).sort());

    // Each folded entry again, byte for byte (a replay), and a completion never written by a script.
    for (const [, fields] of written) await redis.xadd(on.keys.events, "*", ...fields);
    const completion = JSON.parse(written[1]![1][1]!) as Record<string, unknown>;
    await redis.xadd(on.keys.events, "*", "event", JSON.stringify({ ...completion, durationMs: 1, at: Date.now() }));

    const own = (await on.foldOwn(folded.cursor, 100))!;
    expect(own).toMatchObject({ applied: 0, cursor: folded.cursor, slowRun: { count: 3 } });
    const run = await slowEntries(on, own.cursor, own.slowRun!.count);
    expect(run.entries.every((e) => "task" in e)).toBe(true);
    expect(await on.fold(run.entries, own.cursor)).toMatchObject({ applied: 0, deadLettered: 3 });
    const reasons = (await redis.xrange(on.keys.deadLetter, "-", "+")).map(([, fields]) => fields[fields.indexOf("reason") + 1]);
    expect(reasons).toEqual(Array(3).fill("no task script wrote this event for task r1 (forged, replayed, or its record expired)"));
    expect(await redis.hmget(on.keys.workload("a"), "done", "durationCount")).toEqual(["1", "1"]);
    expect(await redis.hget(on.keys.durations, "resize:count")).toBe("1");
  });

  it("folds an entry once though its marker stays: a stale cursor, a batch presented again, another folder from the cursor", async () => {
    const on = new Store(redis, testNamespace("fold-own-once-marked"));
    const after = await registeredAndFolded(on);
    await on.submit(task("q1"), "a");
    await on.claim("q1", "a", 1);
    await on.finish("q1", "a", 1, "retry", "again");
    await on.claim("q1", "a", 1);
    await on.finish("q1", "a", 1, "completed", "null");
    const { entries } = await slowEntries(on, after);
    const folded = (await on.foldOwn(after, 100))!;
    expect(folded.applied).toBe(2);
    const figures = async () => ({
      cursor: await on.foldCursor(),
      workload: await redis.hgetall(on.keys.workload("a")),
      durations: await redis.hgetall(on.keys.durations),
      dead: await redis.xlen(on.keys.deadLetter),
      marks: Object.keys(await redis.hgetall(on.keys.task("q1"))).filter((f) => f.startsWith("ev:")).length,
    });
    const once = await figures();
    expect(once).toMatchObject({ cursor: { id: folded.cursor, folded: 3 }, workload: { done: "1" }, dead: 0, marks: 2 });

    // A folder that read from the old cursor (it crashed, or lost the lease, mid-call): the fast path, then the slow one.
    expect(await on.foldOwn(after, 100)).toBeUndefined();
    expect(await on.fold(entries, after)).toEqual({ applied: 0, deadLettered: 0, alreadyFolded: 2 });
    // The same entries handed to the slow path as if they followed the cursor: refused whole.
    await expect(on.fold(entries, folded.cursor)).rejects.toThrow(/does not follow the cursor/);
    // A new folder taking over from the cursor finds nothing left.
    expect(await on.foldOwn(folded.cursor, 100)).toMatchObject({ applied: 0, cursor: folded.cursor });
    expect(await figures()).toEqual(once);
  });

  it("stops at a task event its script did not write, though it is exactly what the script writes: a completion with no marker", async () => {
    const on = new Store(redis, testNamespace("fold-own-unmarked"));
    const after = await registeredAndFolded(on);
    await completed(on, "v1");
    const [[doneId, doneFields]] = (await redis.xrange(on.keys.events, `(${after}`, "+")) as [[string, string[]]];
    // The completion again, byte for byte, with no marker of its own: a replay.
    const replayId = (await redis.xadd(on.keys.events, "*", ...doneFields))!;
    const own = (await on.foldOwn(after, 100))!;
    expect(own).toMatchObject({ applied: 1, cursor: doneId, slowRun: { from: replayId, count: 1 } });
    expect(own.figures.waitsMs).toHaveLength(1);
    const run = await slowEntries(on, own.cursor, 1);
    expect(await on.fold(run.entries, own.cursor)).toMatchObject({ applied: 0, deadLettered: 1 });
    expect((await on.foldCursor()).folded).toBe(3);
  });

  it("reads a failure's error text as text: a fake kind, task id and agent id in it change nothing", async () => {
    const on = new Store(redis, testNamespace("fold-own-error-text"));
    const after = await registeredAndFolded(on);
    await register(on, "b");
    await on.submit(task("w1", 1), "a");
    // w2 starts a backlog behind w0 on b: its assignment is announced (and marked).
    await on.submit(task("w0"), "b");
    await on.submit(task("w2"), "b");
    const marksOfW2 = async () => Object.keys(await redis.hgetall(on.keys.task("w2"))).filter((f) => f.startsWith("ev:"));
    const w2Assigned = await marksOfW2();
    expect(w2Assigned).toHaveLength(1);
    await on.claim("w1", "a", 1);
    const fake = '","taskId":"w2","agentId":"b","kind":"task:completed","durationMs":1,"x":"';
    await on.finish("w1", "a", 1, "failed", `${fake}{"kind":"task:completed","taskId":"w2"}\\"`);
    // The registration of b stops it at once; folded the slow way, the two task events follow.
    expect(await on.foldOwn(after, 100)).toMatchObject({ applied: 0 });
    await on.fold((await slowEntries(on, after, 1)).entries, after);
    const rest = (await on.foldOwn((await on.foldCursor()).id, 100))!;
    expect(rest).toMatchObject({ applied: 2 });
    expect(rest.slowRun).toBeUndefined();
    expect(rest.figures.failed).toEqual([["resize", true, expect.any(Number)]]);
    expect(rest.figures.completed).toEqual([]);
    expect(await redis.hget(on.keys.workload("a"), "failed")).toBe("1");
    expect(await redis.hget(on.keys.workload("b"), "done")).toBeNull();
    // w2's record holds its own assignment's marker (checked, not consumed), and nothing else.
    expect(await marksOfW2()).toEqual(w2Assigned);
  });

  it("sends task events among agent events the slow way with them, up to the next FAST_RUN task events in a row, looking at no more than it is asked", async () => {
    const on = new Store(redis, testNamespace("fold-own-mixed"));
    const after = await registeredAndFolded(on);
    for (let i = 0; i < 10; i++) {
      await completed(on, `x${i}`);
      await appendEvent(on, { kind: "agent:metrics", agentId: "a", cpu: i, memoryMb: 50, at: Date.now() });
    }
    for (let i = 0; i < 10; i++) await completed(on, `y${i}`);

    // The first completion folds fast; from the first agent event on, 19 entries alternate.
    expect(await on.foldOwn(after, 10)).toMatchObject({ applied: 1, slowRun: { count: 9 } });
    const own = (await on.foldOwn((await on.foldCursor()).id, 100))!;
    expect(own).toMatchObject({ applied: 0, slowRun: { count: 19 } });
    const run = await slowEntries(on, own.cursor, own.slowRun!.count);
    expect(await on.fold(run.entries, own.cursor)).toMatchObject({ applied: 19, deadLettered: 0 });
    const rest = (await on.foldOwn((await on.foldCursor()).id, 100))!;
    expect(rest).toMatchObject({ applied: 10 });
    expect(rest.slowRun).toBeUndefined();
    expect(await on.foldCursor()).toMatchObject({ folded: 31 });
  });

  it("reads on past its first 64 entries, applying across the reads and sizing the slow run in the second", async () => {
    const on = new Store(redis, testNamespace("fold-own-chunks"));
    const after = await registeredAndFolded(on);
    const ids: string[] = [];
    for (let i = 0; i < 70; i++) await completed(on, `c${i}`);
    await appendEvent(on, { kind: "agent:metrics", agentId: "a", cpu: 1, memoryMb: 50, at: Date.now() });
    for (let i = 0; i < 3; i++) await completed(on, `d${i}`);
    await appendEvent(on, { kind: "agent:metrics", agentId: "a", cpu: 2, memoryMb: 50, at: Date.now() });
    for (let i = 0; i < 60; i++) await completed(on, `e${i}`);
    for (const [id] of await redis.xrange(on.keys.events, `(${after}`, "+")) ids.push(id);

    // 70 applied over two reads; the stop at the first agent event; the slow run to the 60 in a row.
    const own = (await on.foldOwn(after, 200))!;
    expect(own).toMatchObject({ applied: 70, cursor: ids[69], slowRun: { from: ids[70], count: 5 } });
    expect(await on.foldCursor()).toEqual({ id: ids[69], folded: 71 });
    const run = await slowEntries(on, own.cursor, own.slowRun!.count);
    expect(await on.fold(run.entries, own.cursor)).toMatchObject({ applied: 5, deadLettered: 0 });
    // The 60 after it fold fast, again over two reads.
    expect(await on.foldOwn(ids[74]!, 200)).toMatchObject({ applied: 60, cursor: ids[134] });
    expect(await on.foldCursor()).toEqual({ id: ids[134], folded: 136 });
  });

  it("stops at an entry that is not certainly an event the schema accepts, even when marked", async () => {
    const on = new Store(redis, testNamespace("fold-own-shape"));
    await register(on, "a");
    // m1 starts a backlog behind m0 on a (one slot): its assignment is announced.
    await on.submit(task("m0"), "a");
    await on.submit(task("m1"), "a");
    const cursor = await on.foldCursor();
    const { entries } = await slowEntries(on, cursor.id, 1);
    await on.fold(entries, cursor.id);
    const after = (await on.foldCursor()).id;
    // A completion with an extra field, marked by hand as a task script would: the schema refuses it.
    const bad = JSON.stringify({ kind: "task:completed", taskId: "m1", agentId: "a", taskType: "resize", epoch: 1, durationMs: 5, at: Date.now(), extra: 1 });
    const id = (await redis.xadd(on.keys.events, "*", "event", bad))!;
    await redis.hset(on.keys.task("m1"), `ev:${id}`, 1);
    // The assignment before it folds; the stop is at it.
    expect(await on.foldOwn(after, 100)).toMatchObject({ applied: 1, slowRun: { from: id, count: 1 } });
    // Its marker is left for the slow path, which dead-letters it with the schema's reason.
    expect(await redis.hexists(on.keys.task("m1"), `ev:${id}`)).toBe(1);
    const slow = await slowEntries(on, (await on.foldCursor()).id);
    const first = slow.entries[0]!;
    expect("dead" in first && first.dead).toContain("extra");
  });

  for (const path of ["fast", "slow"] as const) {
    it(`keeps an agent's sum of squares over batches past 1e17, each run capped as effects.ts caps it (${path} path)`, async () => {
      const on = new Store(redis, testNamespace(`fold-own-squares-${path}`));
      await registeredAndFolded(on);
      /** `n` runs of 20 h (past the cap, about 18.6 h) completed by `a`, then folded in one batch. */
      const longRunsFolded = async (from: number, n: number) => {
        for (let i = from; i < from + n; i += 1) {
          await on.submit(task(`long${i}`), "a");
          await on.claim(`long${i}`, "a", 1);
          const startedAt = Number(await redis.hget(on.keys.task(`long${i}`), "startedAt"));
          await redis.hset(on.keys.task(`long${i}`), "startedAt", startedAt - 20 * 3600 * 1000);
          await on.finish(`long${i}`, "a", 1, "completed", "null");
        }
        const { id } = await on.foldCursor();
        if (path === "fast") expect((await on.foldOwn(id, 100))!.applied).toBe(n);
        else await on.fold((await slowEntries(on, id)).entries, id);
      };
      // 23 capped squares sum to about 1.04e17: a Lua number Redis would pass on in exponent form.
      await longRunsFolded(0, 23);
      await longRunsFolded(23, 1);
      const [count, squares] = await redis.hmget(on.keys.workload("a"), "durationCount", "durationSqSum");
      expect(count).toBe("24");
      expect(squares).toBe(String(24n * BigInt(SQUARED_DURATION_CAP_MS) ** 2n));
      expect(await redis.hget(on.keys.metrics, "fold.fields_reset")).toBeNull();
    });
  }

  it("keeps the per-type durations hash within its cap, counting the types left out", async () => {
    const on = new Store(redis, testNamespace("fold-own-cap"));
    await register(on, "a");
    const cursor = await on.foldCursor();
    await on.fold((await slowEntries(on, cursor.id)).entries, cursor.id);
    // The hash full: 2,000 fields (MAX_TASK_TYPES types, two fields each).
    const full: string[] = [];
    for (let i = 0; i < 1000; i++) full.push(`type${i}:sum`, "1", `type${i}:count`, "1");
    await redis.hset(on.keys.durations, ...full);
    await on.submit(task("n1", 1, "brand-new"), "a");
    await on.claim("n1", "a", 1);
    await on.finish("n1", "a", 1, "completed", "null");
    await on.submit(task("n2", 1, "type7"), "a");
    await on.claim("n2", "a", 1);
    await on.finish("n2", "a", 1, "completed", "null");
    const own = (await on.foldOwn((await on.foldCursor()).id, 100))!;
    expect(own.applied).toBe(2);
    expect(await redis.hlen(on.keys.durations)).toBe(2000);
    expect(await redis.hget(on.keys.durations, "type7:count")).toBe("2");
    expect(await redis.hget(on.keys.metrics, "fold.task_types_not_counted")).toBe("2");
    expect(await redis.hget(on.keys.workload("a"), "done")).toBe("2");
  });

  it("accepts no entry the event schema refuses, whatever its fields (marked by hand), and applies what the slow path would", async () => {
    const on = new Store(redis, testNamespace("fold-own-schema"));
    await register(on, "a1");
    const start = await on.foldCursor();
    await on.fold((await slowEntries(on, start.id)).entries, start.id);
    const at = Date.now();
    const bases: Array<Record<string, unknown>> = [
      { kind: "task:assigned", taskId: "t1", agentId: "a1", epoch: 1, at },
      { kind: "task:started", taskId: "t1", agentId: "a1", epoch: 1, attempt: 1, restarted: false, waitMs: 40, at },
      { kind: "task:completed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 12, at },
      { kind: "task:completed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 12, waitMs: 40, at },
      { kind: "task:failed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 3, final: true, error: "e", fromState: "running", at },
      { kind: "task:failed", taskId: "t1", agentId: "a1", taskType: "x", epoch: 1, durationMs: 3, final: false, error: "e", waitMs: 40, at },
      { kind: "task:stolen", taskId: "t1", from: "a1", to: "a1", epoch: 2, directiveId: "d", at },
      { kind: "task:reassigned", taskId: "t1", from: "a1", to: "", fromState: "queued", epoch: 2, at },
      { kind: "task:cancelled", taskId: "t1", agentId: "", fromState: "queued", epoch: 2, at },
      { kind: "task:cancelled", taskId: "t1", agentId: "a1", fromState: "running", epoch: 2, waitMs: 40, at },
    ];
    const values = fc.oneof(
      fc.constantFrom(
        "t1",
        "a1",
        "x",
        "",
        "a:b",
        "a b",
        "queued",
        "running",
        "😀",
        "é",
        "a".repeat(64),
        "a".repeat(65),
        "a".repeat(128),
        "a".repeat(129),
        "a".repeat(2001),
      ),
      fc.constantFrom(0, -0, 1, -1, 1.5, 2 ** 53, 2 ** 53 - 1, 7 * 24 * 3600 * 1000, 7 * 24 * 3600 * 1000 + 1, at + 3_600_000, 1e300),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.constant([]),
      fc.constant({}),
    );
    const keys = fc.constantFrom(
      "kind",
      "taskId",
      "agentId",
      "taskType",
      "epoch",
      "attempt",
      "restarted",
      "waitMs",
      "durationMs",
      "final",
      "error",
      "fromState",
      "from",
      "to",
      "directiveId",
      "at",
      "extra",
    );
    const mutation = fc.oneof(
      fc.record({ remove: keys }),
      fc.record({ set: keys, value: values }),
      fc.record({ set: fc.constant("kind"), value: fc.constantFrom(...bases.map((b) => b.kind as string), "agent:heartbeat") }),
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...bases), fc.array(mutation, { maxLength: 2 }), async (base, mutations) => {
        const json: Record<string, unknown> = { ...base };
        for (const m of mutations) {
          if ("remove" in m) delete json[m.remove];
          else json[m.set] = m.value;
        }
        const text = JSON.stringify(json);
        const id = (await redis.xadd(on.keys.events, "*", "event", text))!;
        // Marked as a task script would have marked it (where the fast path looks for the mark).
        const taskKey = on.keys.task(typeof json.taskId === "string" && json.taskId !== "" ? json.taskId : "t1");
        await redis.hset(taskKey, `ev:${id}`, 1);
        const { id: cursor } = await on.foldCursor();
        const own = (await on.foldOwn(cursor, 1))!;
        const parsed = parseEventEntry(["event", text]);
        if (own.applied === 1) {
          accepted += 1;
          expect(parsed.ok, text).toBe(true);
          expect(own.figures, text).toEqual(taskFiguresOf(parsed.ok ? [parsed.event] : []));
        } else {
          expect(own.slowRun?.from).toBe(id);
          await on.fold((await slowEntries(on, cursor, 1)).entries, cursor);
        }
      }),
      { numRuns: 400 },
    );
    // Not a vacuous check: unmutated and harmlessly mutated events pass.
    expect(accepted).toBeGreaterThan(20);
  });
});
