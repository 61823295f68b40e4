import { aliveQueueStates, compareIds, moveTasks, runnableCount, type QueueState } from "./queue-state.js";
import type { PlannerConfig, PlannerOptions, PlannerSnapshot, StealDraft } from "./types.js";

/**
 * The original coordinator's strategy: thresholds on task count and cpu, a weighted target score,
 * half the difference stolen. Kept so that users who tuned it can compare and keep it, minus its
 * defects: every score term lies in [0,1]; capability match is the share of the source's stealable
 * tail the target can run, and a target that can run none is never chosen (6); a count of 0 plans
 * nothing (8); thresholds are options (5); counts are projected after every directive so the same
 * idle target is not handed out twice (4) and the caller's projected loads are not overwritten (3).
 * Each overloaded source gives to at most one target per round, as in the original.
 */
export function planClassic(snapshot: PlannerSnapshot, config: PlannerConfig, options: PlannerOptions): StealDraft[] {
  const states = aliveQueueStates(snapshot);
  const taskCount = (s: QueueState) => s.queued + s.running;
  const cpu = (s: QueueState) => s.view.workload.cpu;
  const overloaded = (s: QueueState) => taskCount(s) > options.overloadedTaskCount || cpu(s) > options.overloadedCpu;
  const underloaded = (s: QueueState) => taskCount(s) < options.underloadedTaskCount && cpu(s) < options.underloadedCpu;

  const sources = states.filter(overloaded).sort((a, b) => taskCount(b) - taskCount(a) || compareIds(a.id, b.id));
  const drafts: StealDraft[] = [];
  for (const source of sources) {
    if (source.queued < config.minTasksToSteal || source.tail.length === 0) continue;
    let best: { target: QueueState; score: number; count: number } | undefined;
    for (const target of states) {
      if (target === source || !underloaded(target)) continue;
      const runnable = runnableCount(source.tail, target.caps);
      if (runnable === 0) continue;
      const diff = taskCount(source) - taskCount(target);
      const count = Math.min(Math.floor(diff / 2), config.maxStealBatch, source.queued, runnable);
      if (diff < config.stealThreshold || count <= 0) continue;
      const score = targetScore(runnable / source.tail.length, diff / Math.max(taskCount(source), 1), target.view.priority);
      if (score <= options.minTargetScore) continue;
      const candidate = { target, score, count };
      if (!best || better(candidate, best, taskCount)) best = candidate;
    }
    if (!best) continue;
    const before = `${source.id} ${taskCount(source)} tasks (cpu ${cpu(source)}) -> ${best.target.id} ${taskCount(best.target)} tasks (cpu ${cpu(best.target)})`;
    const moved = moveTasks(source, best.target, best.count).length;
    drafts.push({
      source: source.id,
      target: best.target.id,
      count: moved,
      reason: `classic: ${before}, score ${best.score.toFixed(2)}`,
    });
  }
  return drafts;
}

/** 0.4 × capability match + 0.4 × load difference + 0.1 × priority, each term clamped to [0,1]. */
function targetScore(capabilityMatch: number, loadDifference: number, priority: number): number {
  return 0.4 * clamp01(capabilityMatch) + 0.4 * clamp01(loadDifference) + 0.1 * clamp01(priority / 100);
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

function better(a: { target: QueueState; score: number }, b: { target: QueueState; score: number }, taskCount: (s: QueueState) => number): boolean {
  if (a.score !== b.score) return a.score > b.score;
  const ca = taskCount(a.target);
  const cb = taskCount(b.target);
  if (ca !== cb) return ca < cb;
  return compareIds(a.target.id, b.target.id) < 0;
}
