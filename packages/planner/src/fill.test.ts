import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Balancer, Fleet } from "./balancer.js";
import { configArb, snapshotsOf } from "./testing.js";
import { DEFAULT_PLANNER_OPTIONS, type PlannerConfig, type PlannerSnapshot } from "./types.js";

const RUNS = { numRuns: Number(process.env.PLANNER_RUNS ?? 300) };
// Fleets of 20 to 40 agents: a thief looked at by many victims, and victims past the thief bound.
const fleets = snapshotsOf(20, 40);

/** balanced's round (balanced.ts) with the fill's skips on or off, its targets from the trial or the levels. */
function plan(s: PlannerSnapshot, config: PlannerConfig, levels: boolean, skipping: boolean) {
  const fleet = new Fleet(s, DEFAULT_PLANNER_OPTIONS);
  const balancer = new Balancer(fleet, config, DEFAULT_PLANNER_OPTIONS);
  const level = levels ? balancer.levels() : undefined;
  const targets = level ?? balancer.trial();
  if (!targets) return [];
  balancer.fillTowards(targets, level !== undefined, skipping);
  balancer.run();
  return balancer.log.directives("balanced", s.round);
}

describe.each([
  ["trial", false],
  ["levels", true],
])("the fill towards the %s: its skips", (_path, levels) => {
  it("leave every plan as the fill that looks at every thief makes it", () => {
    fc.assert(
      fc.property(fleets, configArb("balanced"), (s, config) => {
        expect(plan(s, config, levels, true)).toEqual(plan(s, config, levels, false));
      }),
      RUNS,
    );
  });
});
