import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { testNamespace } from "@worksteal/testkit";
import { Store } from "./store.js";

const redis = sharedRedis();

const register = (store: Store, id: string) => store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
const changeNumber = async (store: Store, id: string) => Number(await redis.zscore(store.keys.agentChanges, id));

describe("forgetting removed agents", () => {
  it("never hands a change number out twice: the agent holding the highest one keeps its member", async () => {
    const store = new Store(redis, testNamespace("forget-agents"));
    await register(store, "a1");
    await register(store, "a2");
    const seen = await changeNumber(store, "a2");
    await store.forgetAgents(["a1", "a2"]);
    expect(await redis.zscore(store.keys.heartbeats, "a1")).toBeNull();
    expect(await redis.zscore(store.keys.heartbeats, "a2")).toBeNull();
    expect(await redis.zscore(store.keys.agentChanges, "a1")).toBeNull();
    // A leader that read up to a2's number must see the next agent to change.
    await register(store, "a3");
    expect(await changeNumber(store, "a3")).toBeGreaterThan(seen);
  });
});
