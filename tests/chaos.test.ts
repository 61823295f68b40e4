import { describe, expect, it } from "vitest";
import { spawnNode } from "@worksteal/testkit";

describe("chaos soak, short version", () => {
  it("keeps every invariant while agents, coordinators and Redis fail", async () => {
    const soak = spawnNode("scripts/chaos.ts", ["--duration", "40", "--tasks", "3000", "--json"]);
    const status = await soak.exited;
    const summary = soak.lines.map((l) => l.json).find((j) => j?.submitted !== undefined);
    expect(summary, soak.stderr().slice(-3000)).toBeDefined();
    expect(summary, `${JSON.stringify(summary)}\n${soak.stderr().slice(-3000)}`).toMatchObject({
      submitted: 3000,
      lost: 0,
      runTwiceByMove: 0,
      staleDirectivesExecuted: 0,
      workloadDrift: 0,
      ok: true,
    });
    expect(status.code).toBe(0);
  }, 400_000);
});
