import { afterEach, describe, expect, it, vi } from "vitest";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  vi.restoreAllMocks();
  await h.close();
});

describe("the client's view of the agents for placement", () => {
  it("submits in flight when the view expires share one read of the agents, and still spread out", async () => {
    h = namespaceHarness("placement-cache");
    for (const id of ["p1", "p2", "p3", "p4"]) await h.store.registerAgent({ id, capabilities: [], concurrency: 1, priority: 0 });
    // Every read of the agents starts with the list of their ids.
    const reads = vi.spyOn(h.client.store.redis, "smembers");
    const submitted = await Promise.all(Array.from({ length: 64 }, (_, i) => h.client.submit({ id: `burst${i}` })));
    // One read for the burst (a second only if the burst outlived the view's 500 ms on a slow machine).
    expect(reads.mock.calls.filter(([key]) => key === h.store.keys.agents).length).toBeLessThanOrEqual(2);
    const perOwner = new Map<string, number>();
    for (const { owner } of submitted) perOwner.set(owner!, (perOwner.get(owner!) ?? 0) + 1);
    // Placements are projected onto the shared view: a read per submit would see four empty agents each time and pile onto one.
    expect(perOwner.size).toBe(4);
    expect(Math.max(...perOwner.values())).toBeLessThanOrEqual(20);
  });
});
