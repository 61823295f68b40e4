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
  it("reads each task's wait from creation to first start when its first run ends, and only after the id it is given", async () => {
    await store.submit(task("w1"), "agent-1");
    await store.claim("w1", "agent-1", 1);
    // Not observed while the first run goes on: the event that ends it carries the wait.
    expect((await readTaskWaits(store, "0-0", 100, 10)).waits).toEqual([]);
    await store.finish("w1", "agent-1", 1, "retry", "boom");
    const first = await readTaskWaits(store, "0-0", 100, 10);
    const started = (await store.getTask("w1"))!;
    expect(first.waits.map(({ taskId, waitMs }) => ({ taskId, waitMs }))).toEqual([{ taskId: "w1", waitMs: started.startedAt! - started.createdAt }]);
    // Observed when the run ended, on the Redis clock.
    expect(first.waits[0]!.observedAt).toBeGreaterThanOrEqual(started.startedAt!);

    // A retry's second run is not a wait from creation: its end carries none.
    await store.claim("w1", "agent-1", 1);
    await store.finish("w1", "agent-1", 1, "completed", "null");
    await store.submit(task("w2"), "agent-1");
    const next = await readTaskWaits(store, first.lastId, 100, 10);
    expect(next.waits).toEqual([]);
    expect(next.lastId).not.toBe(first.lastId);
    expect((await readTaskWaits(store, next.lastId, 100, 10)).lastId).toBe(next.lastId);
  });
});
