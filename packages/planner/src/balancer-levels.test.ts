import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Balancer, Fleet } from "./balancer.js";
import { MASKED_GROUPS } from "./balancer-nodes.js";
import { canRun } from "./capabilities.js";
import { planSteals } from "./plan.js";
import { agent, config, drainTimes, snapshot, snapshotArb, tasks } from "./testing.js";
import { MAX_GROUPS } from "./levels.js";
import { DEFAULT_PLANNER_OPTIONS } from "./types.js";

const RUNS = { numRuns: Number(process.env.PLANNER_RUNS ?? 300) };
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));

describe("Balancer.levels (the fill's targets above trialTasks), from snapshots", () => {
  it("runs only for fleets whose groups a candidate's mask speaks for", () => {
    // levels() filters candidates by their groups mask without asking canRun; past MASKED_GROUPS
    // the mask is -1 (every group), so raising MAX_GROUPS past it would treat every task as
    // runnable everywhere.
    expect(MAX_GROUPS).toBeLessThanOrEqual(MASKED_GROUPS);
  });

  it("conserves work, takes from an agent no more than its tasks waiting for a slot, pours into each capability group no more than the tails hold that it can run", () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const fleet = new Fleet(s, DEFAULT_PLANNER_OPTIONS);
        const levels = new Balancer(fleet, config("balanced"), DEFAULT_PLANNER_OPTIONS).levels();
        if (!levels) return;
        const drains = drainTimes(s);
        const start = fleet.views.map((v) => drains.get(v.id)!);
        const weighted = (drain: ArrayLike<number>) => fleet.views.reduce((sum, _, i) => sum + fleet.capacity[i]! * drain[i]!, 0);
        expect(close(weighted(levels), weighted(start))).toBe(true);
        // An agent gives no more than the tasks that wait for a slot: at most its largest
        // queued + running − slots tail tasks.
        fleet.views.forEach((view, i) => {
          const tail = fleet.tails[i]!;
          const waiting = Math.max(view.workload.queued, tail.length) + view.workload.running - Math.max(1, view.concurrency);
          const largest = tail
            .map((task) => fleet.duration(task))
            .sort((a, b) => b - a)
            .slice(0, Math.max(0, waiting));
          const floor = start[i]! - largest.reduce((sum, ms) => sum + ms, 0) / fleet.capacity[i]!;
          expect(levels[i]! >= floor - 1e-6 * Math.max(1, Math.abs(floor))).toBe(true);
        });
        fleet.groups.forEach((group, g) => {
          let poured = 0;
          let runnable = 0;
          fleet.views.forEach((_, i) => {
            if (fleet.groupOf[i] === g) poured += fleet.capacity[i]! * Math.max(0, levels[i]! - start[i]!);
            for (const task of fleet.tails[i]!) if (canRun(group, task.requiredCapabilities)) runnable += fleet.duration(task);
          });
          expect(poured <= runnable + 1e-6 * Math.max(1, runnable)).toBe(true);
        });
      }),
      RUNS,
    );
  });

  it("leaves a task no agent can run with its holder, and gives the rest in directives of maxStealBatch", () => {
    // a lost its GPU on re-registering: 40 GPU tasks and 2 that need a TPU nobody has.
    const a = agent("a", { workload: { queued: 42, running: 1 } });
    const gpus = [1, 2, 3, 4].map((i) => agent(`g${i}`, { capabilities: ["gpu"] }));
    const s = snapshot([a, ...gpus], {
      a: [
        ...tasks("t", 40, { requiredCapabilities: ["gpu"], estimatedDurationMs: 1000 }),
        ...tasks("x", 2, { requiredCapabilities: ["tpu"], estimatedDurationMs: 1000 }),
      ],
    });
    const plan = planSteals(s, config("balanced", { maxStealBatch: 10, trialTasks: 0 }));
    const moved = plan.flatMap((d) => d.taskIds ?? []);
    expect(moved).not.toContain("x0");
    expect(moved).not.toContain("x1");
    expect(plan.length).toBeLessThanOrEqual(5);
    expect(moved.length).toBeGreaterThanOrEqual(32);
  });
});
