import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PlannedDirective } from "@worksteal/protocol";
import { planSteals } from "./plan.js";
import { projectDirectives } from "./project.js";
import { agent, config, configArb, snapshot, snapshotArb, tasks } from "./testing.js";
import type { PlannerSnapshot } from "./types.js";

const RUNS = { numRuns: Number(process.env.PLANNER_RUNS ?? 150) };
const strategies = ["balanced", "classic"] as const;

function namedTwice(plan: readonly PlannedDirective[]): PlannedDirective[] {
  return plan.filter((d) => d.taskIds !== undefined && new Set(d.taskIds).size !== d.taskIds.length);
}

/** The snapshot with each alive agent's tail also holding, as its newest, the tasks of `copies` other tails (read mid-move). */
function withRepeats(s: PlannerSnapshot, copies: readonly number[]): PlannerSnapshot {
  const ids = Object.keys(s.tails);
  const tails = { ...s.tails };
  ids.forEach((id, i) => {
    const other = ids[(i + (copies[i] ?? 0)) % ids.length]!;
    tails[id] = [...(s.tails[other] ?? []), ...(s.tails[id] ?? [])];
  });
  return { ...s, tails };
}

describe.each(strategies)("a task read in two tails (%s)", (strategy) => {
  it("is never named twice by one directive", () => {
    fc.assert(
      fc.property(snapshotArb, configArb(strategy), fc.array(fc.nat(7), { maxLength: 8 }), (s, cfg, copies) => {
        expect(namedTwice(planSteals(withRepeats(s, copies), cfg))).toEqual([]);
      }),
      RUNS,
    );
  });
});

it("a task read in two tails while the directive moving it is in flight is not planned twice from its target", () => {
  // x0..x3 moved from a to b while the leader read the tails: both hold them. The in-flight
  // directive naming them is projected first, then c, idle, takes from b.
  const moving = tasks("x", 4);
  const s = snapshot([agent("a", { workload: { queued: 4 } }), agent("b", { workload: { queued: 8 } }), agent("c")], {
    a: moving,
    b: [...moving, ...tasks("b", 4)],
  });
  const inFlight = { source: "a", target: "b", count: 4, taskIds: moving.map((t) => t.id) };
  const projected = projectDirectives(s, [inFlight]);
  expect(projected.tails.b!.map((t) => t.id).filter((id) => id.startsWith("x"))).toEqual(["x0", "x1", "x2", "x3"]);
  const plan = planSteals(projected, config("balanced", { maxStealBatch: 20, minTasksToSteal: 1, stealThreshold: 1 }));
  expect(plan.length).toBeGreaterThan(0);
  expect(namedTwice(plan)).toEqual([]);
});
