import { effectsOf, parseEventEntry, TaskSpecSchema } from "@worksteal/protocol";
import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { testNamespace } from "@worksteal/testkit";
import { Store } from "./store.js";

const redis = sharedRedis();

/** lua/includes/pruneFoldedMarks.lua's threshold. */
const PRUNE_MARKS_AT = 64;

async function marksOf(on: Store, taskId: string): Promise<string[]> {
  return Object.keys(await redis.hgetall(on.keys.task(taskId))).filter((f) => f.startsWith("ev:"));
}

/** Folds everything after the cursor (only task events follow it here: the fast path takes them all). */
async function foldAll(on: Store): Promise<number> {
  const { id } = await on.foldCursor();
  const own = (await on.foldOwn(id, 10_000))!;
  expect(own.slowRun).toBeUndefined();
  return own.applied;
}

/** A task queued on a, with agents a and b registered and folded, and the fence at 1 for moves. */
async function movableTask(name: string): Promise<Store> {
  const on = new Store(redis, testNamespace(name));
  for (const id of ["a", "b"]) await on.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
  const start = await on.foldCursor();
  // The registrations, agent events, the slow way.
  const registrations = (await redis.xrange(on.keys.events, "-", "+")).map(([id, fields]) => {
    const parsed = parseEventEntry(fields);
    if (!parsed.ok) throw new Error(parsed.reason);
    return { id, ...effectsOf(parsed.event) };
  });
  expect(await on.fold(registrations, start.id)).toMatchObject({ applied: 2, deadLettered: 0 });
  await redis.set(on.keys.fence, 1);
  await on.submit(TaskSpecSchema.parse({ id: "m", type: "resize" }), "a");
  return on;
}

/** Moves task m between a and b `times` times, starting from epoch `epoch`; returns the epoch after. */
async function moveBackAndForth(on: Store, epoch: number, times: number): Promise<number> {
  for (let i = 0; i < times; i++, epoch++) {
    const [from, to] = epoch % 2 === 1 ? ["a", "b"] : ["b", "a"];
    await on.move("m", from, to, epoch, { id: `d${epoch}`, fence: 1 }, 60_000);
  }
  return epoch;
}

describe("task-event marks", () => {
  it("a task moved on and on keeps only the marks of events not yet folded once its record is large", async () => {
    const store = await movableTask("marks-pruned");
    let epoch = await moveBackAndForth(store, 1, 20);
    expect(await foldAll(store)).toBe(20);
    // Folded and checked, not consumed: every mark stays while the record is small.
    expect(await marksOf(store, "m")).toHaveLength(20);
    let fields = await redis.hlen(store.keys.task("m"));
    for (let round = 0; round < 10; round++) {
      epoch = await moveBackAndForth(store, epoch, 30);
      fields = Math.max(fields, await redis.hlen(store.keys.task("m")));
      expect(await foldAll(store)).toBe(30);
    }
    // 320 moves and their marks, yet the record never reached 64 fields plus one round of moves.
    expect(fields).toBeLessThan(PRUNE_MARKS_AT + 30);
    expect(await redis.hget(store.keys.workload("b"), "stolenIn")).toBe("160");
    expect(await redis.xlen(store.keys.deadLetter)).toBe(0);
  });

  it("never deletes the mark of an event not yet folded: a record past the threshold with nothing folded keeps them all, and they fold", async () => {
    const store = await movableTask("marks-unfolded");
    await moveBackAndForth(store, 1, 100);
    expect(await marksOf(store, "m")).toHaveLength(100);
    expect(await foldAll(store)).toBe(100);
    expect(await redis.xlen(store.keys.deadLetter)).toBe(0);
    expect(await redis.hget(store.keys.workload("a"), "stolenIn")).toBe("50");
  });
});
