import { describe, expect, it } from "vitest";
import { calibrate, gateOpenings, type RecordedTask, withArrivals, withCosts } from "./calibrate.js";
import type { SimAgent, SimTask } from "./model.js";
import { simulate } from "./simulate.js";

const simTask = (id: string, durationMs: number, target: string): SimTask => ({ id, type: "t", requiredCapabilities: [], durationMs, arrivesAt: 0, target });
const recorded = (id: string, agent: string, createdAt: number, startedAt: number, finishedAt: number, init: Partial<RecordedTask> = {}): RecordedTask => ({
  id,
  placedOn: agent,
  agent,
  createdAt,
  readyAt: createdAt,
  startedAt,
  finishedAt,
  ...init,
});

describe("calibrate", () => {
  // One slot at speed 2 (100 ms tasks run 50 ms): t0 created at 1000, started 1004, finished
  // 1060 (claim 4, finish 6); t1 created at 1002, waits for the slot freed at 1060, starts 1070
  // and finishes 1122 (claim 10, finish 2). Claim mean 7, finish mean 4; t1 arrived 2 ms after t0.
  it("measures claims from the slot freeing or the task arriving, finishes beyond the duration, and arrivals", () => {
    const agents: SimAgent[] = [{ id: "a", slots: 1, speed: 2 }];
    const tasks = [simTask("t0", 100, "a"), simTask("t1", 100, "a")];
    const run = { tasks: [recorded("t0", "a", 1000, 1004, 1060), recorded("t1", "a", 1002, 1070, 1122)], steals: [] };
    const calibration = calibrate(agents, tasks, run);
    expect(calibration.costs).toEqual({ claimMs: 7, finishMs: 4 });
    expect([...calibration.arrivalsMs]).toEqual([
      ["t0", 0],
      ["t1", 2],
    ]);
    expect(calibration.firstEventLagMs).toBeUndefined();
    expect(calibration.eventLagMs).toBeUndefined();
    expect(calibration.moveCostMs).toBeUndefined();
    // Replayed with what it measured, the run ends where it did: 1122 − 1000.
    expect(simulate(withCosts(agents, calibration.costsByAgent), withArrivals(tasks, calibration.arrivalsMs), { kind: "none" }).makespanMs).toBe(122);
  });

  // a and b have one slot each; t0..t5 (100 ms) are created on a at 0, so the gate opens at 0
  // (b idle beside a's backlog). Round r1, planned at 30: t4 reaches b at 40, t3 at 60; b runs t4
  // at 45 (claim 5) and t3 at 145. a runs t0, t1, t2 back to back until 300. At 245 b is idle again
  // beside a's t5: the gate opens a second time; round r2, planned at 255, moves t5 by 265, b runs
  // it at 270 (claim 5). First lag 30, later lag 10; move cost (60 − 30 + 265 − 255) / 3 directives.
  it("measures the first and later lags from the gate opening to a directive, and a directive's share of its round", () => {
    const agents: SimAgent[] = [
      { id: "a", slots: 1 },
      { id: "b", slots: 1 },
    ];
    const tasks = ["t0", "t1", "t2", "t3", "t4", "t5"].map((id) => simTask(id, 100, "a"));
    const run = {
      tasks: [
        recorded("t0", "a", 0, 0, 100),
        recorded("t1", "a", 0, 100, 200),
        recorded("t2", "a", 0, 200, 300),
        recorded("t3", "b", 0, 145, 245, { placedOn: "a", readyAt: 60 }),
        recorded("t4", "b", 0, 45, 145, { placedOn: "a", readyAt: 40 }),
        recorded("t5", "b", 0, 270, 370, { placedOn: "a", readyAt: 265 }),
      ],
      steals: [
        { round: "r1", plannedAt: 30, source: "a", target: "b", taskIds: ["t4"], finishedAt: 40 },
        { round: "r1", plannedAt: 30, source: "a", target: "b", taskIds: ["t3"], finishedAt: 60 },
        { round: "r2", plannedAt: 255, source: "a", target: "b", taskIds: ["t5"], finishedAt: 265 },
      ],
    };
    expect(gateOpenings(agents, run)).toEqual([0, 245]);
    const calibration = calibrate(agents, tasks, run);
    expect(calibration.firstEventLagMs).toBe(30);
    expect(calibration.eventLagMs).toBe(10);
    expect(calibration.moveCostMs).toBe(40 / 3);
    expect(calibration.costs).toEqual({ claimMs: 10 / 6, finishMs: 0 });
    // a's three claims were 0; b's 5, 0 and 5.
    expect([...calibration.costsByAgent]).toEqual([
      ["a", { claimMs: 0, finishMs: 0 }],
      ["b", { claimMs: 10 / 3, finishMs: 0 }],
    ]);
  });

  it("refuses a recorded task the workload does not have", () => {
    expect(() => calibrate([{ id: "a", slots: 1 }], [], { tasks: [recorded("x", "a", 0, 0, 1)], steals: [] })).toThrow(/not in the workload/);
  });
});
