import { TaskSpecSchema } from "@worksteal/protocol";
import { testNamespace } from "@worksteal/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { readTaskWaits } from "./dashboard-view.js";
import { Store } from "./store.js";

const redis = sharedRedis();
let store: Store;

beforeAll(async () => {
  store = new Store(redis, testNamespace("dashboard-view"));
  await store.registerAgent({ id: "agent-1", capabilities: [], concurrency: 1, priority: 0 });
});

const task = (id: string) => TaskSpecSchema.parse({ id, maxAttempts: 2 });

describe("readTaskWaits", () => {
  it("measures each first run from its task's creation, and only starts after the id it is given", async () => {
    await store.submit(task("w1"), "agent-1");
    await store.claim("w1", "agent-1", 1);
    const first = await readTaskWaits(store, "0-0", 100, 10);
    const record = (await store.getTask("w1"))!;
    expect(first.waits).toEqual([{ taskId: "w1", startedAt: record.startedAt, waitMs: record.startedAt! - record.createdAt }]);

    // A retry's second run is not a wait from creation: left out.
    await store.finish("w1", "agent-1", 1, "retry", "boom");
    await store.claim("w1", "agent-1", 1);
    await store.submit(task("w2"), "agent-1");
    const next = await readTaskWaits(store, first.lastId, 100, 10);
    expect(next.waits).toEqual([]);
    expect(next.lastId).not.toBe(first.lastId);
    expect((await readTaskWaits(store, next.lastId, 100, 10)).lastId).toBe(next.lastId);
  });
});
