import { Balancer, Fleet } from "./balancer.js";
import type { PlannedDirective } from "@worksteal/protocol";
import type { PlannerConfig, PlannerOptions, PlannerSnapshot } from "./types.js";

/**
 * Cost-based stealing, after Dask's `distributed/stealing.py`.
 *
 * Drain time of an agent = expected work / (slots × speed). Work = its known tail tasks at their
 * type average (with the task's estimate as a prior when the snapshot counts the completions
 * behind the average; else the estimate, else the fleet average, else the default) + its other
 * queued and its running tasks at the agent's own average times its speed, in whole ms at speed
 * 1; a running task at (1 + spread) / 2 of that, at least all of it, when agents' histories carry
 * their squares (Workload.durationSqSum: spread is the run times' squared coefficient of
 * variation, each agent's about its own average): seen mid-run, a task is more likely a long one. An agent's speed is its capability group's average duration over its own (agents with the
 * same capabilities run the same kinds of task), once both rest on a few completions. A move
 * conserves work.
 *
 * Every task is weighed on its own, and a directive names the tasks it moves: a move takes any
 * task of the victim's tail, not only its newest. A task expected to take less than minTaskMs is
 * not worth a move. Moving a task from victim V to thief T is *eligible* when V has a task
 * waiting for a slot (queued + running > slots; there is no count floor: minTasksToSteal is
 * classic's); the task did not arrive by a move of this round (so no task moves twice in a
 * round, nor straight back: A→B→A); the move shortens max(drain(V), drain(T)) by more than
 * marginTaskFraction × the task's drain time; T, holding it, still drains sooner than V by more
 * than marginFraction × drain(V) — so the task finishes sooner on T (with a spread, both tests
 * take T's finish marginSpread × a run time's standard deviation later for each √ of the tasks
 * that would wait for a slot on T, the task included, over T's capacity: a heuristic for how
 * uncertain that wait is, not its standard deviation; a thief with a queue may be slower than its
 * average says, and a task sent on a coin flip is often sent on again); and a task of a raised
 * priority does not leave a V that would start it no later than T could. (One move never gains
 * more than one task, so the relative part bounds the gap, not the gain: on a deep queue 5% of
 * the drain time is many tasks.) This margin is the hysteresis: agents within ~1.5 tasks or 5%
 * of each other never trade, so no ping-pong. Of V's eligible tasks for T the largest moves
 * (longest processing time first: a long task moved early is not left to start last; among
 * equals, one that moved fewer times before, then the newest, which V would start last).
 *
 * The greedy: the latest-draining victim gives a task to the eligible thief that leaves the
 * later of the two draining earliest, projected at once, until no eligible move is left anywhere. So planning
 * again on the projected snapshot plans nothing, except to send on a task that arrived in this
 * round (a move that had to wait: it is a single move then), and each directive, applied in
 * order, makes max(drain(source), drain(target)) sooner; the latest drain never gets later. Each
 * move replaces the victim's drain time by two smaller ones, so the loop ends (a move budget
 * bounds pathological inputs). Victims are a heap, thieves heaps per capabilities and capacity, and
 * only the victims a move may have unblocked are looked at again, instead of Dask's repeated
 * O(n²) passes: a move costs O(buckets × log tail + log agents).
 *
 * An agent may both give and receive in one round (the fixed point needs it, e.g. when only it
 * can take one victim's tasks and an idle agent can take its own); every task a directive names
 * was on its source when the round began, so the directives may be applied in any order. maxStealBatch caps each directive; a longer run of moves between two agents is split.
 *
 * One task at a time interleaves thieves, which would give one directive per move. So the round
 * first finds target drain times, and a victim-by-victim, thief-by-thief fill from the start
 * heads for them (one directive per pair); the greedy then finishes from there. The targets are
 * the end state of the greedy run as a trial (letting tasks move on: only its end state is kept)
 * while the round has at most trialTasks (1,000) tail tasks; above, where a trial would cost a move per
 * task, the water levels of levels.ts (work as a fluid, per capability group), which the moves
 * reach within about a task (a trial too for more capability groups than it enumerates).
 */
export function planBalanced(snapshot: PlannerSnapshot, config: PlannerConfig, options: PlannerOptions): PlannedDirective[] {
  const fleet = new Fleet(snapshot, options);
  if (!fleet.anyMovePossible(options.marginFraction)) return [];
  const balancer = new Balancer(fleet, config, options);
  // The trial's end state is exact (whole tasks, margins, relays) but costs a move per task: up to
  // trialTasks tail tasks it sets the targets; above, the levels computed directly do.
  const levels = fleet.tailTasks > options.trialTasks ? balancer.levels() : undefined;
  const targets = levels ?? balancer.trial();
  // Nothing to move: the real run, from the same state, would find nothing either.
  if (!targets) return [];
  balancer.fillTowards(targets, levels !== undefined);
  balancer.run();
  return balancer.log.directives("balanced", snapshot.round);
}
