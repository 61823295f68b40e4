import type { PlannedDirective } from "@worksteal/protocol";
import { moveNamed, moveTasks, queueStateOf, type QueueState } from "./queue-state.js";
import type { PlannerSnapshot, TaskSummary } from "./types.js";

/**
 * The snapshot as it will be once these directives are executed, in order, the way the executor
 * does it: each moves the tasks it names that are still in the source's tail (or, naming none,
 * the newest tail tasks the target can run, at most `count`) and queues them on the target as
 * its newest. The leader projects directives still in flight before planning
 * (Dask's in-flight accounting), so that a steal is not planned again while it runs (defect 3).
 * Pure: the input is not modified.
 */
export function projectDirectives(
  snapshot: PlannerSnapshot,
  directives: ReadonlyArray<Pick<PlannedDirective, "source" | "target" | "count" | "taskIds">>,
): PlannerSnapshot {
  const states = new Map<string, { state: QueueState; initialQueued: number }>();
  for (const view of snapshot.agents) {
    if (states.has(view.id)) continue;
    const state = queueStateOf(view, snapshot.tails[view.id]);
    states.set(view.id, { state, initialQueued: state.queued });
  }
  const touched = new Set<string>();
  for (const d of directives) {
    const from = states.get(d.source);
    const to = states.get(d.target);
    if (!from || !to || from === to) continue;
    const moved = d.taskIds ? moveNamed(from.state, to.state, d.taskIds) : moveTasks(from.state, to.state, d.count);
    if (moved.length === 0) continue;
    touched.add(d.source).add(d.target);
  }
  const tails: Record<string, readonly TaskSummary[]> = { ...snapshot.tails };
  const agents = snapshot.agents.map((view) => {
    const entry = states.get(view.id);
    if (!entry || entry.state.view !== view || !touched.has(view.id)) return view;
    tails[view.id] = entry.state.tail;
    const queued = view.workload.queued + entry.state.queued - entry.initialQueued;
    return { ...view, workload: { ...view.workload, queued } };
  });
  return { ...snapshot, agents, tails };
}
