import { TaskSpecSchema } from "@worksteal/protocol";
import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { testNamespace } from "@worksteal/testkit";
import { Store } from "./store.js";
import { cancelTask } from "./task-control.js";
import { readCancelRequests } from "./tasks.js";

const redis = sharedRedis();

describe("cancelling", () => {
  it("a queued task cancelled after its run was orphaned still tells the orphaned run to stop", async () => {
    const store = new Store(redis, testNamespace("cancel-orphan"));
    for (const id of ["a1", "a2"]) await store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    await store.submit(TaskSpecSchema.parse({ id: "t1" }), "a1");
    await store.claim("t1", "a1", 1);
    // a1 is presumed dead while its handler still runs: the task goes back to the queue elsewhere.
    await redis.set(store.keys.fence, 1);
    await store.reassign("t1", "a1", "a2", "running", 1, 1);
    expect(await cancelTask(store, "t1", 60_000)).toBe("cancelled");
    // What a1's cancel poll reads for the tasks it runs.
    expect(await readCancelRequests(store, ["t1"])).toEqual(new Set(["t1"]));
  });
});
