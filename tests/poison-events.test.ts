import { Redis } from "ioredis";
import { pino } from "pino";
import { afterEach, describe, expect, inject, it } from "vitest";
import { foldSplitting, Replica } from "@worksteal/coordinator";
import { TaskSpecSchema } from "@worksteal/protocol";
import { type FoldEntry, readFoldProgress, Store } from "@worksteal/store";
import { eventually, testNamespace } from "@worksteal/testkit";

/**
 * Hostile stream entries: whatever lands in the event stream, every entry ends folded once or
 * dead-lettered with a reason in printable ASCII, and none holds back the good entries read
 * with it (issue 8, items 1, 2 and 4).
 */
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

function setup() {
  const namespace = testNamespace("poison");
  const config = { redisUrl: inject("redisUrl"), namespace, logLevel: "silent" as const };
  const redis = new Redis(config.redisUrl);
  closers.push(() => redis.quit());
  const store = new Store(redis, namespace);
  const startReplica = async () => {
    const replica = new Replica({ id: "r1", config });
    await replica.start();
    closers.push(() => replica.stop());
    return replica;
  };
  return { redis, store, startReplica };
}

/** Real tasks through the real scripts: assigned, started, completed. */
async function runTasks(store: Store, agent: string, ids: string[]) {
  for (const id of ids) {
    await store.submit(TaskSpecSchema.parse({ id, type: "t" }), agent);
    await store.claim(id, agent, 1);
    await store.finish(id, agent, 1, "completed", "null");
  }
}

/** Entries appended and not yet folded. */
async function unfolded(store: Store): Promise<number> {
  return (await readFoldProgress(store)).lag;
}

async function deadLetters(store: Store): Promise<Array<Record<string, string>>> {
  const entries = (await store.redis.xrange(store.keys.deadLetter, "-", "+")) as Array<[string, string[]]>;
  return entries.map(([, fields]) => {
    const out: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) out[fields[i]!] ??= fields[i + 1]!;
    return out;
  });
}

const PRINTABLE = /^[\x20-\x7e]+$/;

describe("poison events", () => {
  it("malformed entries of any shape are dead-lettered and the good ones around them fold", async () => {
    const { redis, store, startReplica } = setup();
    await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    await runTasks(store, "a1", ["g1", "g2"]);
    const bad: Array<Array<string | Buffer>> = [
      ["event", "😀"], // not JSON, starts with an emoji (the parser's message quotes half a surrogate pair)
      Array.from({ length: 8000 }, (_, i) => `f${i}`), // 4,000 tiny fields
      ["event", Buffer.from([0x7b, 0xff, 0xfe, 0x7d])], // invalid UTF-8
      ["event", JSON.stringify({ kind: "agent:heartbeat", agentId: "a1", at: 1 }), "event", "{}"], // duplicated field
      ["event", "x".repeat(100_000)], // oversized
      ["event", JSON.stringify({ kind: "task:completed", taskId: "t", agentId: "a1", taskType: "\ud83d", epoch: 1, durationMs: 1, at: 1 })], // lone surrogate
      ["other", "1"], // no event field
    ];
    for (const fields of bad) await redis.xadd(store.keys.events, "*", ...fields);
    await runTasks(store, "a1", ["g3", "g4"]);

    await startReplica();
    await eventually(async () => {
      expect(await unfolded(store)).toBe(0);
      expect(await redis.hget(store.keys.workload("a1"), "done")).toBe("4");
    });
    const letters = await deadLetters(store);
    expect(letters).toHaveLength(bad.length);
    for (const letter of letters) {
      expect(letter.reason).toMatch(PRINTABLE);
      expect(letter.reason!.length).toBeLessThanOrEqual(300);
    }
    expect(letters[1]!.fieldCount).toBe("4000");
    expect(await redis.zscore(store.keys.queuedCounts, "a1")).toBe("0");
  });

  it("forged and replayed task events, far-future times and unknown agents are refused", async () => {
    const { redis, store, startReplica } = setup();
    await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    await runTasks(store, "a1", ["real"]);
    const now = Date.now();
    // Every entry the scripts wrote, replayed as it was.
    const written = (await redis.xrange(store.keys.events, "-", "+")) as Array<[string, string[]]>;
    for (const [, fields] of written) await redis.xadd(store.keys.events, "*", ...fields);
    const forged = [
      { kind: "task:completed", taskId: "real", agentId: "a1", taskType: "t", epoch: 1, durationMs: 5, at: now },
      { kind: "task:completed", taskId: "never-submitted", agentId: "a1", taskType: "t", epoch: 1, durationMs: 5, at: now },
      { kind: "agent:metrics", agentId: "a1", cpu: 100, memoryMb: 1, at: now + 365 * 24 * 3600 * 1000 },
      { kind: "agent:duration", agentId: "ghost", taskType: "t", durationMs: 9_000_000, at: now },
      { kind: "agent:duration", agentId: "a1", taskType: "t", durationMs: 9_000_000, at: now },
    ];
    for (const event of forged) await redis.xadd(store.keys.events, "*", "event", JSON.stringify(event));

    await startReplica();
    await eventually(async () => expect(await unfolded(store)).toBe(0));
    const workload = await redis.hgetall(store.keys.workload("a1"));
    expect(workload.done).toBe("1");
    // The real heartbeat's metrics (now) hold; the one from next year did not pin the cpu.
    expect(Number(workload.metricsAt ?? 0)).toBeLessThan(now + 60_000);
    // A registered agent's reported duration counts toward its own speed, never a type's mean.
    const durations = await redis.hgetall(store.keys.durations);
    expect(durations["t:count"]).toBe("1");
    expect(Number(durations["t:sum"])).toBeLessThan(1000);
    expect(await redis.exists(store.keys.workload("ghost"))).toBe(0);
    const reasons = (await deadLetters(store)).map((l) => l.reason!);
    // The replayed task event (the completion: a submit to an idle agent and a start append none), both forged completions.
    expect(reasons.filter((r) => r.includes("no task script wrote this event"))).toHaveLength(3);
    expect(reasons.filter((r) => r.includes("ahead of the Redis clock"))).toHaveLength(1);
    expect(reasons.filter((r) => r.includes("agent ghost is not registered"))).toHaveLength(1);
  });

  it("a non-integer workload field after a hand edit is reset, not passed over unapplied", async () => {
    const { redis, store, startReplica } = setup();
    await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    await redis.hset(store.keys.workload("a1"), "done", "lots");
    await runTasks(store, "a1", ["h1", "h2"]);
    await startReplica();
    await eventually(async () => {
      expect(await unfolded(store)).toBe(0);
      expect(await redis.hget(store.keys.workload("a1"), "done")).toBe("2");
    });
    expect(Number(await redis.hget(store.keys.metrics, "fold.fields_reset"))).toBe(1);
  });

  it("a batch Redis refuses is split until the one bad entry is dead-lettered", async () => {
    const { redis, store } = setup();
    await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    // The registration and a completion each: ten entries.
    await runTasks(
      store,
      "a1",
      Array.from({ length: 9 }, (_, i) => `s${i}`),
    );
    const { id: after } = await store.foldCursor();
    const ids = (await redis.xrange(store.keys.events, `(${after}`, "+")).map(([id]) => id);
    const entries: FoldEntry[] = ids.map((id) => ({ id, incr: [["workload:a1", "seen", 1]], gauge: [], at: Date.now(), agent: "a1" }));
    // A delta HINCRBY cannot take: the script's check of its arguments refuses the whole batch before the cursor moves.
    entries[4] = { id: ids[4]!, incr: [["workload:a1", "seen", 1.5]], gauge: [], at: Date.now(), agent: "a1" };
    const result = await foldSplitting(store, entries, after, pino({ level: "silent" }));
    expect(result).toEqual({ applied: ids.length - 1, deadLettered: 1, alreadyFolded: 0 });
    expect(await redis.hget(store.keys.workload("a1"), "seen")).toBe(String(ids.length - 1));
    const [letter] = await deadLetters(store);
    expect(letter!.sourceId).toBe(ids[4]);
    expect(letter!.reason).toMatch(PRINTABLE);
  });
});
