import { planSteals } from "./plan.js";
import { projectDirectives } from "./project.js";
import { agent, config, tasks } from "./testing.js";
import type { TaskSummary } from "./types.js";
function run(n: number, victims: number, k: number, caps: boolean) {
  const agents = []; const tails: Record<string, TaskSummary[]> = {};
  for (let i = 0; i < n; i++) {
    const id = `a${String(i).padStart(4, "0")}`;
    const v = i < victims;
    agents.push(agent(id, { concurrency: 1 + (i % 4), capabilities: caps && i % 3 === 0 ? ["gpu"] : [], workload: { queued: v ? 200 : i % 2, running: 1, durationSumMs: 1000 * (1 + (i % 5)), durationCount: 1 } }));
    if (v) tails[id] = tasks(`${id}-`, k, { requiredCapabilities: caps && i % 2 === 0 ? ["gpu"] : [], estimatedDurationMs: 500 + (i * 37) % 3000 });
  }
  const snap = { agents, tails, round: 1 };
  const t0 = performance.now();
  const plan = planSteals(snap, config("balanced", { maxStealBatch: 1000 }));
  const t1 = performance.now();
  const again = planSteals(projectDirectives(snap, plan), config("balanced", { maxStealBatch: 1000 }));
  const moved = plan.reduce((s, d) => s + d.count, 0);
  console.log({ n, victims, k, caps, ms: Math.round(t1 - t0), directives: plan.length, moved, again: again.length });
}
run(100, 20, 50, false); run(500, 100, 50, false); run(500, 100, 50, true); run(500, 250, 100, true);
