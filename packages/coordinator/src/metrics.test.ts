import { describe, expect, it } from "vitest";
import { MAX_TASK_TYPES } from "@worksteal/store";
import { ReplicaMetrics } from "./metrics.js";

const FOLDED_WHOLE = { applied: 0, deadLettered: 0, alreadyFolded: 0 };

async function doneByType(metrics: ReplicaMetrics): Promise<Map<string, number>> {
  const metric = await metrics.registry.getSingleMetric("worksteal_tasks_done_total")!.get();
  return new Map(metric.values.map(({ labels, value }) => [String(labels.type), value]));
}

describe("ReplicaMetrics.folded", () => {
  it("counts each type's runs under its label, and the types past the cap under one", async () => {
    const metrics = new ReplicaMetrics();
    const types = Array.from({ length: MAX_TASK_TYPES + 3 }, (_, i) => `type-${i}`);
    metrics.folded({ waitsMs: [5], completed: types.map((type) => [type, 10]), failed: [["type-0", true, 20]] }, 0, FOLDED_WHOLE);
    metrics.folded(
      {
        waitsMs: [],
        completed: [
          ["type-0", 10],
          [types.at(-1)!, 10],
        ],
        failed: [],
      },
      0,
      FOLDED_WHOLE,
    );
    const done = await doneByType(metrics);
    expect(done.size).toBe(MAX_TASK_TYPES + 1);
    expect(done.get("type-0")).toBe(2);
    expect(done.get(`type-${MAX_TASK_TYPES - 1}`)).toBe(1);
    expect(done.get("(other)")).toBe(4);
    const failed = await metrics.registry.getSingleMetric("worksteal_tasks_failed_total")!.get();
    expect(failed.values).toEqual([expect.objectContaining({ labels: { type: "type-0" }, value: 1 })]);
  });

  it("observes nothing per event when another replica folded part of the batch", async () => {
    const metrics = new ReplicaMetrics();
    metrics.folded({ waitsMs: [], completed: [["resize", 10]], failed: [] }, 0, { applied: 1, deadLettered: 0, alreadyFolded: 1 });
    expect((await doneByType(metrics)).size).toBe(0);
  });
});
