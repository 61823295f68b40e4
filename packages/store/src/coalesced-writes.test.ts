import { inject } from "vitest";
import { afterEach, describe, expect, it } from "vitest";
import { testNamespace } from "@worksteal/testkit";
import { atTurnEnd, flushWrites } from "./coalesced-writes.js";
import { closeRedis, createRedis, type RedisConnection } from "./connection.js";

const opened: RedisConnection[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => closeRedis(r)));
});

/** Counts the socket writes that reach the kernel (one per `_write`, or one `_writev` for corked chunks). */
function countSocketWrites(redis: RedisConnection): () => number {
  const socket = (redis as unknown as { stream: Record<"_write" | "_writev", (...args: unknown[]) => unknown> }).stream;
  let writes = 0;
  for (const method of ["_write", "_writev"] as const) {
    const original = socket[method].bind(socket);
    socket[method] = (...args: unknown[]) => {
      writes += 1;
      return original(...args);
    };
  }
  return () => writes;
}

describe("coalesced writes", () => {
  it("sends the commands of one turn in one socket write, answered in order", async () => {
    const redis = createRedis(inject("redisUrl"));
    opened.push(redis);
    const key = `${testNamespace("coalesce")}:counter`;
    await redis.del(key);
    const writes = countSocketWrites(redis);

    const replies = await Promise.all(Array.from({ length: 20 }, () => redis.incr(key)));

    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(writes()).toBe(1);
    await redis.del(key);
  });

  it("flushWrites sends what the turn held back at once, before the turn ends", async () => {
    const redis = createRedis(inject("redisUrl"));
    opened.push(redis);
    await redis.ping();
    const writes = countSocketWrites(redis);

    const replies = [redis.ping(), redis.ping()];
    expect(writes()).toBe(0);
    flushWrites(redis);
    // Written now, within this turn: synchronous work that follows does not hold them back.
    expect(writes()).toBe(1);
    const later = redis.ping();
    expect(await Promise.all([...replies, later])).toEqual(["PONG", "PONG", "PONG"]);
    expect(writes()).toBe(2);
  });

  it("atTurnEnd sends a batch at the end of the turn, after the turn's commands and in the same socket write", async () => {
    const redis = createRedis(inject("redisUrl"));
    opened.push(redis);
    await redis.ping();
    const writes = countSocketWrites(redis);
    const sent: string[] = [];

    let batch: Promise<string> | undefined;
    atTurnEnd(redis, () => {
      sent.push("batch");
      batch = redis.echo("batch");
    });
    const first = redis.echo("first");
    sent.push("first");
    expect(sent).toEqual(["first"]);
    await Promise.resolve();
    const later = redis.echo("later in the turn");
    sent.push("later");

    expect(await Promise.all([first, later])).toEqual(["first", "later in the turn"]);
    expect(sent).toEqual(["first", "later", "batch"]);
    expect(await batch).toBe("batch");
    expect(writes()).toBe(1);
  });

  it("flushWrites sends the turn's batches too", async () => {
    const redis = createRedis(inject("redisUrl"));
    opened.push(redis);
    await redis.ping();
    const writes = countSocketWrites(redis);
    let batch: Promise<string> | undefined;
    atTurnEnd(redis, () => {
      batch = redis.echo("batch");
    });

    flushWrites(redis);

    expect(batch).toBeDefined();
    expect(writes()).toBe(1);
    expect(await batch).toBe("batch");
  });

  it("a command sent alone, and one sent from a reply's continuation, are answered", async () => {
    const redis = createRedis(inject("redisUrl"));
    opened.push(redis);
    const key = `${testNamespace("coalesce")}:value`;
    await redis.set(key, "1");
    const chained = await redis.get(key).then((value) => redis.set(key, `${value}2`).then(() => redis.get(key)));
    expect(chained).toBe("12");
    await redis.del(key);
  });
});
