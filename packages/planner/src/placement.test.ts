import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findBestAgent } from "./placement.js";
import { agent, snapshotArb } from "./testing.js";

const plain = { requiredCapabilities: [] };

describe("findBestAgent", () => {
  it("never chooses a dead or draining agent", () => {
    const busy = agent("busy", { workload: { queued: 50 } });
    expect(findBestAgent(plain, [agent("dead", { status: "dead" }), agent("drain", { status: "draining" }), busy])).toBe(busy);
  });

  it("never chooses an agent lacking a required capability; undefined when no capable agent is alive", () => {
    const gpu = agent("gpu", { capabilities: ["gpu", "cpu"], workload: { queued: 30 } });
    const task = { requiredCapabilities: ["gpu", "cpu"] };
    expect(findBestAgent(task, [agent("cpu", { capabilities: ["cpu"] }), gpu])).toBe(gpu);
    expect(findBestAgent(task, [agent("cpu", { capabilities: ["cpu"] }), { ...gpu, status: "dead" }])).toBeUndefined();
    expect(findBestAgent(task, [])).toBeUndefined();
  });

  it("avoids an overloaded agent: earliest expected finish wins", () => {
    const light = agent("b", { workload: { queued: 1, cpu: 95 } });
    expect(findBestAgent(plain, [agent("a", { workload: { queued: 20 } }), light])).toBe(light);
  });

  it("counts slots and the agent's own average duration", () => {
    // (4 queued + 1) / 4 slots = 1.25 units against (1 + 1) / 1 = 2.
    const wide = agent("wide", { concurrency: 4, workload: { queued: 4 } });
    expect(findBestAgent(plain, [agent("narrow", { workload: { queued: 1 } }), wide])).toBe(wide);
    // 6 tasks × 100 ms = 0.6 s against 1 task × 1 s.
    const fast = agent("fast", { workload: { queued: 5, durationSumMs: 100, durationCount: 1 } });
    expect(findBestAgent(plain, [agent("slow", { workload: { durationSumMs: 1000, durationCount: 1 } }), fast])).toBe(fast);
  });

  it("an agent without history is costed with the task's type average or estimate, not as free", () => {
    const known = agent("known", { workload: { durationSumMs: 1000, durationCount: 1 } });
    const fresh = agent("fresh", { workload: { queued: 3 } });
    expect(findBestAgent({ requiredCapabilities: [], estimatedDurationMs: 500 }, [fresh, known])).toBe(known);
    expect(findBestAgent({ requiredCapabilities: [], type: "t" }, [fresh, known], { durationsByType: { t: 100 } })).toBe(fresh);
  });

  it("breaks ties by queued per slot, priority, cpu, then id", () => {
    const a = agent("a", { concurrency: 2, workload: { queued: 1, running: 1 } });
    const b = agent("b", { concurrency: 2, workload: { running: 2 } });
    expect(findBestAgent(plain, [a, b])).toBe(b);
    const p = agent("p", { priority: 10 });
    expect(findBestAgent(plain, [agent("o"), p])).toBe(p);
    const cool = agent("z", { workload: { cpu: 5 } });
    expect(findBestAgent(plain, [agent("y", { workload: { cpu: 50 } }), cool])).toBe(cool);
    expect(findBestAgent(plain, [agent("n"), agent("m")])?.id).toBe("m");
  });

  it("property: the choice is alive and capable, and exists whenever a capable agent is alive", () => {
    fc.assert(
      fc.property(snapshotArb, fc.subarray(["cpu", "gpu", "io"]), (s, required) => {
        const best = findBestAgent({ requiredCapabilities: required }, s.agents);
        const capable = s.agents.filter((a) => a.status === "alive" && required.every((c) => a.capabilities.includes(c)));
        expect(best === undefined).toBe(capable.length === 0);
        if (best) expect(capable).toContain(best);
      }),
      { numRuns: 100 },
    );
  });
});
