import { encodeEvent } from "@worksteal/protocol";
import { testNamespace } from "@worksteal/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { replayDeadLetter } from "./dead-letters.js";
import { Store } from "./store.js";

const redis = sharedRedis();
let store: Store;
beforeAll(() => {
  store = new Store(redis, testNamespace("dead-letters"));
});

/** A dead letter as the fold writes one: its head, then a copy of the refused entry. */
async function deadLetter(fields: string[]): Promise<string> {
  return (await redis.xadd(store.keys.deadLetter, "*", "sourceId", "1-1", "reason", "test", "fieldCount", fields.length / 2, ...fields))!;
}

describe("replaying a dead letter", () => {
  it("two replays at once append the event once and delete the letter", async () => {
    const [field, json] = encodeEvent({ kind: "agent:metrics", agentId: "a1", at: 1, cpu: 1, memoryMb: 1 });
    const id = await deadLetter([field, json]);
    const results = await Promise.all([replayDeadLetter(store, id), replayDeadLetter(store, id), replayDeadLetter(store, id)]);
    expect(results.filter((r) => r?.replayed === true)).toHaveLength(1);
    expect(await redis.xlen(store.keys.events)).toBe(1);
    expect(await redis.xlen(store.keys.deadLetter)).toBe(0);
  });

  it("an entry that still does not parse stays a dead letter, and nothing is appended", async () => {
    const id = await deadLetter(["event", "{not json"]);
    expect(await replayDeadLetter(store, id)).toMatchObject({ replayed: false, reason: expect.stringMatching(/still does not parse/) as unknown });
    expect(await redis.xrange(store.keys.deadLetter, id, id)).toHaveLength(1);
  });
});
