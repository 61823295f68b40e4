import { describe, expect, it } from "vitest";
import { sharedRedis } from "@worksteal/testkit/vitest";
import { Store } from "@worksteal/store";
import { testNamespace } from "@worksteal/testkit";
import { StealTrigger } from "./steal-trigger.js";

const redis = sharedRedis();
const blocking = sharedRedis();

/** What the trigger says of one event of `kind`, appended to a stream of its own. */
async function hintAfter(kind: string, fields: Record<string, unknown>) {
  const store = new Store(redis, testNamespace("trigger"));
  const trigger = new StealTrigger(store, blocking);
  trigger.startAt(0);
  await redis.xadd(store.keys.events, "*", "event", JSON.stringify({ kind, at: Date.now(), ...fields }));
  return trigger.next(1000);
}

describe("the leader's ear on the event stream", () => {
  it("takes a cancelled task, queued or running, as a slot that may have freed", async () => {
    for (const fromState of ["queued", "running"]) {
      expect(await hintAfter("task:cancelled", { taskId: "t1", agentId: "a1", fromState, epoch: 1 })).toEqual({
        slotFreed: true,
        taskQueued: false,
        countsUnstamped: false,
      });
    }
  });

  it("takes a stolen task as work queued on its target", async () => {
    expect(await hintAfter("task:stolen", { taskId: "t1", from: "a1", to: "a2", epoch: 2 })).toEqual({
      slotFreed: false,
      taskQueued: true,
      countsUnstamped: false,
    });
  });

  it("takes a task that started (only agents of earlier versions say so) as neither, but as counts changed with no stamp", async () => {
    expect(await hintAfter("task:started", { taskId: "t1", agentId: "a1", epoch: 1 })).toEqual({ slotFreed: false, taskQueued: false, countsUnstamped: true });
  });
});

describe("skipping what a round planned from", () => {
  it("reads on after the id skipped to, never back", async () => {
    const store = new Store(redis, testNamespace("trigger-skip"));
    const trigger = new StealTrigger(store, blocking);
    const append = (kind: string) => redis.xadd(store.keys.events, "*", "event", JSON.stringify({ kind, at: Date.now() }));
    trigger.skipTo("9-0");
    expect(trigger.started).toBe(false);
    trigger.startAt(0);
    const seenByRound = await append("task:completed");
    await append("agent:heartbeat");
    trigger.skipTo(seenByRound!);
    trigger.skipTo("0-1");
    expect(await trigger.next(1000)).toEqual({ slotFreed: false, taskQueued: false, countsUnstamped: false });
    await append("task:stolen");
    expect(await trigger.next(1000)).toEqual({ slotFreed: false, taskQueued: true, countsUnstamped: false });
  });
});
