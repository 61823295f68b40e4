import { afterEach, describe, expect, it } from "vitest";
import { Replica } from "@worksteal/coordinator";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

/**
 * Issue 8, item 6: a replica id is a name, not a leadership. A process restarted under the same
 * id (a StatefulSet pod) must lead at a new fence, so that its directive ids never collide with
 * its dead predecessor's; two processes configured with one id never both lead.
 */
let h: Harness;
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (stops.length > 0) await stops.pop()!();
  await h.close();
});

describe("replicas sharing an id", () => {
  it("a restart under the same id waits for the old lease and leads at a new fence", async () => {
    h = namespaceHarness("same-id-lease");
    const first = await h.store.acquireLease("r1", 300, "start-1");
    expect(first).toEqual({ held: true, fence: 1 });
    // The first process died without releasing: its successor, same id, does not inherit the lease.
    expect(await h.store.acquireLease("r1", 300, "start-2")).toMatchObject({ held: false, holder: "r1" });
    await eventually(async () => expect(await h.store.acquireLease("r1", 300, "start-2")).toEqual({ held: true, fence: 2 }));
    // The dead process's leadership cannot be renewed by anyone.
    await expect(h.store.renewLease("r1", 1, 300)).rejects.toThrow(/lost the leader lease/);
  });

  it("two live processes configured with one id: exactly one leads", async () => {
    h = namespaceHarness("same-id-live", { leaseTtlMs: 600, stealInterval: 100 });
    const a = new Replica({ id: "r1", config: h.config });
    const b = new Replica({ id: "r1", config: h.config });
    stops.push(
      () => a.stop(),
      () => b.stop(),
    );
    await Promise.all([a.start(), b.start()]);
    for (let i = 0; i < 10; i++) {
      const leaders = [a, b].filter((r) => r.leaderFence !== undefined);
      expect(leaders.length).toBeLessThanOrEqual(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    await eventually(() => expect([a, b].filter((r) => r.leaderFence !== undefined)).toHaveLength(1));
  });
});
