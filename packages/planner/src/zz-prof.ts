import { planSteals } from "./plan.js";
import { agent, config, tasks } from "./testing.js";
import type { TaskSummary } from "./types.js";
const n = 500, victims = 250, k = 100;
const agents = []; const tails: Record<string, TaskSummary[]> = {};
for (let i = 0; i < n; i++) {
  const id = `a${String(i).padStart(4, "0")}`; const v = i < victims;
  agents.push(agent(id, { concurrency: 1 + (i % 4), capabilities: i % 3 === 0 ? ["gpu"] : [], workload: { queued: v ? 200 : i % 2, running: 1, durationSumMs: 1000 * (1 + (i % 5)), durationCount: 1 } }));
  if (v) tails[id] = tasks(`${id}-`, k, { requiredCapabilities: i % 2 === 0 ? ["gpu"] : [], estimatedDurationMs: 500 + (i * 37) % 3000 });
}
for (let r = 0; r < 3; r++) { const t0 = performance.now(); planSteals({ agents, tails, round: 1 }, config("balanced", { maxStealBatch: 1000 })); console.log(Math.round(performance.now() - t0)); }
