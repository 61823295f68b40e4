import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AgentView, StrategyName } from "@worksteal/protocol";
import { planSteals } from "./plan.js";
import { seededRandom } from "./simulator/random.js";
import { agent, config, configArb, snapshotsOf } from "./testing.js";
import type { PlannerConfig, PlannerSnapshot, TaskSummary } from "./types.js";

// Speed-ups of the planner must not change a plan: the plans of seeded fleets are recorded here
// as digests of their directives (ids, tasks, and reasons with every drain), so that any change
// of a decision, of a task's order in a directive or of a drain shows. A change meant to alter
// plans records new digests, with the balance reports that show it is no worse.

/** The plan's digest: every field of every directive. */
function digest(plans: ReadonlyArray<unknown>): string {
  return createHash("sha256").update(JSON.stringify(plans)).digest("hex").slice(0, 16);
}

const PROFILES: ReadonlyArray<readonly string[]> = [[], [], ["ssd"], ["gpu", "ssd"], ["io"]];
const KINDS: ReadonlyArray<{ type: string; requiredCapabilities: string[] }> = [
  { type: "resize", requiredCapabilities: [] },
  { type: "resize", requiredCapabilities: [] },
  { type: "index", requiredCapabilities: ["ssd"] },
  { type: "render", requiredCapabilities: ["gpu"] },
  { type: "scan", requiredCapabilities: ["io"] },
  { type: "adhoc", requiredCapabilities: [] },
];

interface FleetShape {
  agents: number;
  tasks: number;
  /** Share of tail tasks with a raised priority (the priority rule). */
  raised: number;
}

/**
 * A seeded fleet shaped like the leader's snapshots at scale: a fifth idle, the rest holding a
 * Pareto share of the backlog; agents of several capability profiles and speeds (histories of
 * 0 to 1,000 completions); tails of up to 40 tasks of several types, some with estimates, epochs
 * and raised priorities; a few agents draining or dead, and counters that lag behind their tails.
 */
function seededFleet(seed: number, shape: FleetShape): PlannerSnapshot {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const width = String(shape.agents - 1).length;
  const profiles = Array.from({ length: shape.agents }, () => {
    const slots = 1 + Math.floor(random() * 8);
    return { slots, weight: random() < 0.2 ? 0 : slots * Math.pow(1 - random(), -1 / 1.5), capabilities: pick(PROFILES) };
  });
  const totalWeight = profiles.reduce((n, p) => n + p.weight, 0);
  const tails: Record<string, TaskSummary[]> = {};
  let taskNumber = 0;
  const agents = profiles.map((p, i): AgentView => {
    const id = `agent-${String(i).padStart(width, "0")}`;
    const queued = Math.round((shape.tasks * p.weight) / totalWeight);
    const kinds = KINDS.filter((k) => k.requiredCapabilities.every((c) => p.capabilities.includes(c)));
    const tail = Array.from({ length: Math.min(queued, 40) }, (): TaskSummary => {
      const kind = pick(kinds);
      taskNumber += 1;
      return {
        id: `task-${taskNumber}`,
        ...kind,
        ...(kind.type === "adhoc" || random() < 0.05 ? { estimatedDurationMs: Math.floor(random() * 4000) } : {}),
        ...(random() < shape.raised ? { priority: pick([100, 500, 1000]) } : {}),
        ...(random() < 0.1 ? { epoch: 2 + Math.floor(random() * 2) } : {}),
      };
    });
    if (tail.length > 0) tails[id] = tail;
    const durationCount = pick([0, 3, 20, 1000]);
    return agent(id, {
      capabilities: [...p.capabilities],
      concurrency: p.slots,
      priority: pick([0, 50, 100]),
      status: random() < 0.02 ? "draining" : random() < 0.01 ? "dead" : "alive",
      workload: {
        // Now and then the folded counter lags behind the tail as read.
        queued: random() < 0.05 ? Math.floor(queued / 2) : queued,
        running: queued > 0 ? p.slots : Math.floor(random() * p.slots),
        durationCount,
        durationSumMs: durationCount * (300 + Math.floor(random() * 1200)),
        cpu: Math.floor(random() * 100),
      },
    });
  });
  return {
    agents,
    tails,
    durationsByType: { resize: 400, index: 900, render: 3000, scan: 650 },
    durationCountsByType: { resize: 500, index: 40, render: 2, scan: 0 },
    round: 7,
  };
}

const STRATEGY_CONFIGS: ReadonlyArray<[string, PlannerConfig]> = [
  ["classic", config("classic")],
  ["balanced", config("balanced")],
  ["balanced, trial", config("balanced", { trialTasks: 1e9 })],
  ["balanced, levels", config("balanced", { trialTasks: 0, maxStealBatch: 3 })],
];

describe("plans of seeded fleets stay as recorded", () => {
  it.each([
    [1, { agents: 40, tasks: 600, raised: 0 }, ["0515a13977d1f7d7", "10132b641aa89b20", "10132b641aa89b20", "c6bd2b1b43547d7b"]],
    [2, { agents: 300, tasks: 20_000, raised: 0 }, ["d9774315a581ea18", "f5d973055cf5388d", "a9130124b2f17a8a", "d7a3676eab060f93"]],
    [3, { agents: 300, tasks: 20_000, raised: 0.1 }, ["fb81f01d3e5c02ca", "846559108c4022d4", "ac02278f7b5c6d78", "94037708d1f0c22a"]],
    [4, { agents: 2000, tasks: 200_000, raised: 0 }, ["fbe28bfcbd8b2b6d", "594fcddb4022d8ff", "4664108743bd12e1", "adfed6f9d0f82e9f"]],
  ] as const)("seed %i, %o", (seed, shape, expected) => {
    const fleet = seededFleet(seed, shape);
    expect(STRATEGY_CONFIGS.map(([, cfg]) => digest(planSteals(fleet, cfg)))).toEqual(expected);
  });

  it.each(["classic", "balanced"] as const)("small random fleets (%s), the property tests' arbitraries", (strategy: StrategyName) => {
    const cases = fc.sample(fc.tuple(snapshotsOf(1, 12), configArb(strategy), fc.constantFrom(0, 1000)), { seed: 11, numRuns: 400 });
    const plans = cases.map(([s, cfg, trialTasks]) => planSteals(s, { ...cfg, trialTasks }));
    expect(digest(plans)).toBe(strategy === "classic" ? "2a7f9015496f14d9" : "764e3556a393acd4");
  });
});
