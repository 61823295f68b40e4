import { planSteals } from "./plan.js";
import { agent, config, snapshot, tasks } from "./testing.js";
const s = snapshot(
  [
    agent("a", { workload: { queued: 4, running: 1, durationSumMs: 10_000, durationCount: 1 } }),
    agent("b", { workload: { queued: 8, running: 1, durationSumMs: 100, durationCount: 1 } }),
    agent("c"),
  ],
  { a: tasks("a", 4, { type: "slow" }), b: tasks("b", 8, { type: "fast" }) },
  { durationsByType: { slow: 10_000, fast: 100 } },
);
console.log(planSteals(s, config("balanced")), planSteals(s, config("classic")));
