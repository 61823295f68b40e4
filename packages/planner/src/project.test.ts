import { describe, expect, it } from "vitest";
import { projectDirectives } from "./project.js";
import { agent, snapshot, tasks } from "./testing.js";

describe("projectDirectives", () => {
  const s = snapshot([agent("a", { workload: { queued: 4 } }), agent("b", { workload: { queued: 1 } }), agent("c", { capabilities: ["gpu"] })], {
    a: [...tasks("g", 1, { requiredCapabilities: ["gpu"] }), ...tasks("p", 3)],
    b: tasks("b", 1),
  });

  it("moves the newest tasks the target can run, as the executor does, without touching the input", () => {
    const before = JSON.stringify(s);
    const p = projectDirectives(s, [{ source: "a", target: "b", count: 2 }]);
    expect(JSON.stringify(s)).toBe(before);
    expect(p.tails.a!.map((t) => t.id)).toEqual(["g0", "p2"]);
    expect(p.tails.b!.map((t) => t.id)).toEqual(["p1", "p0", "b0"]);
    expect(p.agents.map((x) => x.workload.queued)).toEqual([2, 3, 0]);
    expect(p.agents[2]).toBe(s.agents[2]);
  });

  it("moves fewer when fewer can run, and ignores unknown agents and self-moves", () => {
    const p = projectDirectives(s, [
      { source: "a", target: "c", count: 5 },
      { source: "a", target: "x", count: 1 },
      { source: "b", target: "b", count: 1 },
    ]);
    expect(p.tails.c!.map((t) => t.id)).toEqual(["p2", "p1", "p0", "g0"]);
    expect(p.agents.map((x) => x.workload.queued)).toEqual([0, 1, 4]);
  });
});
