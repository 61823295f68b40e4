import fc from "fast-check";
import { Command, Redis } from "ioredis";
import { TaskSpecSchema } from "@worksteal/protocol";
import { eventually, startRedisServer, testNamespace, type RedisServer } from "@worksteal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeRedis, createRedis, type RedisConnection } from "./connection.js";
import { TaskNotFoundError } from "./errors.js";
import { commandBytes, type ScriptArg, scriptRunner } from "./scripts.js";
import { Store } from "./store.js";

// A private server: the test empties its script cache, which the shared one's users rely on.
let server: RedisServer;
let redis: RedisConnection;
let store: Store;

beforeAll(async () => {
  // Scripts over 100 ms make Redis answer BUSY to others: the test of an EVAL that fails so.
  server = await startRedisServer({ appendOnly: false, args: ["--busy-reply-threshold", "100"] });
  redis = createRedis(server.url);
  store = new Store(redis, testNamespace("scripts"));
  await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
});

afterAll(async () => {
  await closeRedis(redis);
  await server.stop();
});

const task = (id: string) => TaskSpecSchema.parse({ id, type: "noop" });

describe("script runner", () => {
  it("defines no command on the connection: its pipelines copy none of the scripts", () => {
    expect(Object.keys((redis as unknown as { scriptsSet: object }).scriptsSet)).toEqual([]);
  });

  it("runs a script Redis no longer holds (SCRIPT FLUSH, a restart), alone and in a pipeline", async () => {
    await redis.script("FLUSH");
    expect((await store.submit(task("single"), "a1")).created).toBe(true);

    await redis.script("FLUSH");
    const many = await store.submitMany([
      { task: task("many-1"), owner: "a1" },
      { task: task("many-2"), owner: "a1" },
    ]);
    expect(many.map((r) => ("created" in r ? r.created : r))).toEqual([true, true]);
    expect(await redis.hget(store.keys.task("many-2"), "state")).toBe("queued");
    // Each ran once: a1 (one slot) counts three tasks queued.
    expect(await redis.zscore(store.keys.queuedCounts, "a1")).toBe("3");
  });

  it("sends a script's text again after an EVAL that failed (BUSY): no call waits for a NOSCRIPT to be sent again", async () => {
    await redis.script("FLUSH");
    const other = createRedis(server.url);
    const fresh = createRedis(server.url);
    try {
      // Busy for 700 ms on another connection: everyone else is answered BUSY once 100 ms have passed.
      const busy = other.eval(
        "local function ms() local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000) end local s = ms() repeat until ms() - s >= 700",
        0,
      );
      await eventually(() => expect(redis.ping()).rejects.toThrow(/BUSY/), { intervalMs: 10 });
      const freshStore = new Store(fresh, testNamespace("scripts-busy"));
      const profile = { id: "b1", capabilities: [], concurrency: 1, priority: 0 };
      await expect(freshStore.registerAgent(profile)).rejects.toThrow(/BUSY/);
      await busy;
      await redis.config("RESETSTAT");
      await freshStore.registerAgent(profile);
      expect(await redis.info("errorstats")).not.toMatch(/NOSCRIPT/);
    } finally {
      await closeRedis(other);
      await closeRedis(fresh);
    }
  });

  it("passes a script's own error on", async () => {
    await redis.script("FLUSH");
    await expect(store.claim("nope", "a1", 1)).rejects.toThrow(/not found/i);
  });
});

describe("a script call's arguments", () => {
  it("sends a missing task id (a job whose data lacks it) as empty text: the claim answers the task not found", async () => {
    await redis.script("FLUSH");
    const missing = undefined as unknown as string;
    await expect(store.claim(missing, "a1", 1)).rejects.toBeInstanceOf(TaskNotFoundError);

    await store.submit(task("beside-missing"), "a1");
    const [claimed, notFound] = await store.claimMany("a1", [
      { taskId: "beside-missing", epoch: 1 },
      { taskId: missing, epoch: 1 },
    ]);
    expect(claimed).toMatchObject({ attempt: 1, type: "noop" });
    expect(notFound).toBeInstanceOf(TaskNotFoundError);
  });

  it("leaves the next call of a script on the socket to send its text after a call that could not be written", async () => {
    await redis.script("FLUSH");
    const fresh = createRedis(server.url);
    const monitor = await new Redis(server.url).monitor();
    const sent: string[] = [];
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      if (!source.startsWith("lua") && /^eval/i.test(args[0] ?? "")) sent.push(args[0]!.toLowerCase());
    });
    try {
      const freshStore = new Store(fresh, testNamespace("scripts-unwritable"));
      const k = freshStore.keys;
      const keys = [k.task("x"), k.events, k.queuedOf("a1"), k.runningOf("a1"), k.agent("a1")];
      // Bytes that are not (a Buffer's prototype without its memory): writing the call throws.
      const unwritable = Object.create(Buffer.prototype as object) as ScriptArg;
      expect(() => scriptRunner(fresh)("claim", keys, ["x", "a1", unwritable, 60_000])).toThrow(TypeError);

      await expect(freshStore.claim("nope", "a1", 1)).rejects.toBeInstanceOf(TaskNotFoundError);
      await expect(freshStore.claim("nope", "a1", 1)).rejects.toBeInstanceOf(TaskNotFoundError);
      // MONITOR reports a command once run: the last one's report may follow its reply.
      await eventually(() => expect(sent).toEqual(["eval", "evalsha"]), { intervalMs: 10 });
    } finally {
      monitor.disconnect();
      await closeRedis(fresh);
    }
  });
});

describe("commandBytes", () => {
  it("writes the bytes ioredis writes for the same command", () => {
    const arg = fc.oneof(
      fc.string({ unit: "grapheme" }),
      fc.uint8Array().map((a) => Buffer.from(a)),
    );
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 12 }), (args) => {
        const ours = commandBytes("evalsha", args);
        const theirs = new Command("evalsha", args).toWritable({});
        expect(ours.equals(Buffer.isBuffer(theirs) ? theirs : Buffer.from(theirs))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
