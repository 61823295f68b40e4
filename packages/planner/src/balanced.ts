import { Balancer } from "./balancer.js";
import type { PlannerConfig, PlannerOptions, PlannerSnapshot, StealDraft } from "./types.js";

/**
 * Cost-based stealing, after Dask's `distributed/stealing.py`.
 *
 * Drain time of an agent = expected work / slots. Work = its known tail tasks at their type
 * average (else their estimate, else the fleet average, else the default) + its other queued and
 * its running tasks at the agent's own average. A move conserves work, so projections are exact.
 *
 * A move of task t from victim V to thief T is *eligible* when V has a task waiting for a slot and
 * at least minTasksToSteal queued; t is the newest task of V's tail that T can run (as the
 * executor picks); the move shortens max(drain(V), drain(T)) by more than marginTaskFraction × t's
 * drain time; and T, holding t, still drains more than marginFraction × drain(V) sooner than V.
 * (A single move never gains more than one task, so the relative part bounds the gap, not the
 * gain: on a deep queue 5% of the drain time is many tasks.) The margin is the hysteresis: agents
 * within ~1.5 tasks or 5% of each other never trade, so nothing ping-pongs.
 *
 * The greedy: the latest-draining victim gives its next task to the eligible thief that would
 * finish it earliest, projected at once, until no eligible move is left anywhere; so planning
 * again on the projected snapshot finds nothing (unless maxStealBatch, the cap on a pair's moves
 * in a round, stopped a pair). Each move replaces the victim's drain by two smaller ones, so the
 * latest drain never gets later and the loop ends. Only the victims a move can have unblocked are
 * looked at again, so a move costs O(agents), not a full O(n²) pass as in Dask's balance().
 *
 * One task at a time interleaves thieves, which would give one directive per move. So the greedy
 * first runs on a scratch copy; its end state becomes the target of a victim-by-victim,
 * thief-by-thief fill (one directive per pair); the greedy then finishes from there.
 */
export function planBalanced(snapshot: PlannerSnapshot, config: PlannerConfig, options: PlannerOptions): StealDraft[] {
  const trial = new Balancer(snapshot, config, options);
  trial.run();
  const real = new Balancer(snapshot, config, options);
  real.fillTowards(trial.nodes.map((n) => n.drain));
  real.run();
  return real.log.drafts("balanced");
}
