import { describe, expect, it } from "vitest";
import { agent, config } from "./testing.js";
import { needsTail } from "./victims.js";

describe("needsTail", () => {
  it("balanced: any alive agent with a task waiting for a slot; classic: minTasksToSteal queued", () => {
    const oneWaiting = agent("a", { workload: { queued: 1, running: 1 } });
    const freeSlot = agent("b", { concurrency: 2, workload: { queued: 1, running: 1 } });
    const idle = agent("c");
    const draining = agent("d", { status: "draining", workload: { queued: 5, running: 1 } });
    const balanced = config("balanced");
    expect([oneWaiting, freeSlot, idle, draining].map((a) => needsTail(a, balanced))).toEqual([true, false, false, false]);
    const classic = config("classic");
    expect([oneWaiting, agent("e", { workload: { queued: 2 } })].map((a) => needsTail(a, classic))).toEqual([false, true]);
  });
});
