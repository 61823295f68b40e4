/** The chaos soak's invariants (README, "Guarantees"), read from Redis once everything is quiet. */
import type { Redis } from "ioredis";
import type { Keys } from "@worksteal/protocol";
import { sleep } from "@worksteal/testkit";
import { deadLetteredIds } from "../hostile.js";
import { tasksRunTwice } from "../wait-for-all.js";
import type { EventAudit } from "./audit.js";
import type { Supervisor } from "./supervisor.js";
import type { CancelOutcome } from "@worksteal/store";
import { type OptionKind, type PoisonSpecs, TIMEOUT_ATTEMPTS } from "./tasks.js";

export interface ChaosOutcome {
  submitted: number;
  done: number;
  failed: number;
  lost: number;
  runTwiceByMove: number;
  staleDirectivesExecuted: number;
  workloadDrift: number;
  unfoldedEvents: number;
  rerunsAfterCrashes: number;
  moves: number;
  hostileInjected: number;
  hostileNotDeadLettered: number;
  deadLetters: number;
  poisonTasks: number;
  poisonMisbehaved: number;
  optionTasks: number;
  optionTasksMisbehaved: number;
  cancelled: number;
  cancelledRunAfterCancel: number;
  delayedEarly: number;
  restartsAfterPoison: number;
  drainCycles: number;
  coordinatorLogBytesMax: number;
}

/** The figures that must be 0 for the soak to pass. */
export const INVARIANTS = [
  "lost",
  "runTwiceByMove",
  "staleDirectivesExecuted",
  "workloadDrift",
  "unfoldedEvents",
  "hostileNotDeadLettered",
  "poisonMisbehaved",
  "optionTasksMisbehaved",
  "cancelledRunAfterCancel",
  "delayedEarly",
] as const satisfies ReadonlyArray<keyof ChaosOutcome>;

/** What the soak did, for the checks. */
export interface SoakRecord {
  redis: Redis;
  keys: Keys;
  namespace: string;
  agentIds: readonly string[];
  submitted: readonly string[];
  /** Tasks not done or failed when quiet came. */
  unfinished: number;
  injected: readonly string[];
  poison: PoisonSpecs;
  options: ReadonlyMap<string, OptionKind>;
  cancels: ReadonlyMap<string, { outcome: CancelOutcome; runsAtCancel: number }>;
  drainCycles: number;
  audit: EventAudit;
  supervisor: Supervisor;
  progress: (line: string) => void;
}

export async function checkInvariants(soak: SoakRecord): Promise<ChaosOutcome> {
  const { redis, keys, submitted, injected, poison, audit, progress } = soak;
  let done = 0;
  let failed = 0;
  const truth = new Map<string, { queued: number; running: number; done: number; failed: number }>();
  for (let i = 0; i < submitted.length; i += 2000) {
    const ids = submitted.slice(i, i + 2000);
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hmget(keys.task(id), "state", "owner");
    for (const [, value] of (await pipeline.exec()) ?? []) {
      const [state, owner] = value as [string | null, string | null];
      if (state === "done") done += 1;
      if (state === "failed") failed += 1;
      const counts = truth.get(owner ?? "") ?? { queued: 0, running: 0, done: 0, failed: 0 };
      if (state === "queued" || state === "running" || state === "done" || state === "failed") counts[state] += 1;
      truth.set(owner ?? "", counts);
    }
  }

  // A move never runs a task twice: every run at the epoch a steal took a task from had ended
  // before the steal, in a retry (or was cut off by its agent's death, and the same run taken up
  // again). Runs, and runs taken up again, are counted by the agents' handlers themselves (the run
  // logs), not read from events; retries are the task:failed events that were not final.
  const runs = await redis.hgetall(keys.runLog);
  const runEpochs = await redis.hgetall(keys.runEpochLog);
  const restarts = await redis.hgetall(keys.runRestartLog);
  const hostile = new Set(injected);
  const endedRuns = new Map(Object.entries(restarts).map(([key, count]) => [key, Number(count)]));
  for (const r of audit.retried) if (!hostile.has(r.id)) endedRuns.set(r.key, (endedRuns.get(r.key) ?? 0) + 1);
  const steals = audit.stolen.filter((s) => !hostile.has(s.id));
  const movedWhileRunning = new Set(
    steals.filter((s) => Number(runEpochs[`${s.taskId}@${s.epoch - 1}`] ?? 0) > (endedRuns.get(`${s.taskId}@${s.epoch - 1}`) ?? 0)).map((s) => s.taskId),
  );
  for (const id of [...movedWhileRunning].slice(0, 10))
    progress(
      `run twice because of a move: ${id}, runs by epoch ${JSON.stringify(Object.fromEntries(Object.entries(runEpochs).filter(([k]) => k.startsWith(`${id}@`))))}`,
    );

  // Only the current leader's directives act: no move by a fence after a higher fence took the lease.
  const staleDirectivesExecuted = steals.filter((s) => [...audit.fences.entries()].some(([fence, acquiredAt]) => fence > s.fence && acquiredAt < s.at)).length;

  // Workload converges: the load sets' counts and the folded totals equal the task records (all history folded exactly once).
  let workloadDrift = 0;
  for (const agentId of soak.agentIds) {
    const [folded, queued, running] = await Promise.all([
      redis.hgetall(keys.workload(agentId)),
      redis.zscore(keys.queuedCounts, agentId),
      redis.zscore(keys.runningCounts, agentId),
    ]);
    const figures = { queued: Number(queued ?? 0), running: Number(running ?? 0), done: Number(folded.done ?? 0), failed: Number(folded.failed ?? 0) };
    const t = truth.get(agentId) ?? { queued: 0, running: 0, done: 0, failed: 0 };
    for (const field of ["queued", "running", "done", "failed"] as const) workloadDrift += Math.abs(figures[field] - t[field]);
  }
  const unfoldedEvents = await leftToFold(redis, keys);

  // Every hostile entry ended in the dead-letter stream.
  const dead = await deadLetteredIds(redis, keys);
  const hostileNotDeadLettered = injected.filter((id) => !dead.has(id)).length;

  // Every poison task failed (a long one finished), within its attempts, saying why.
  let poisonMisbehaved = 0;
  for (const [id, spec] of poison) {
    const [state, error] = await redis.hmget(keys.task(id), "state", "error");
    const ranWithin = Number(runs[id] ?? 0) <= spec.maxAttempts;
    const ended =
      spec.kind === "long"
        ? state === "done"
        : // An unserialisable one may also lose a run to a kill: either reason says why.
          state === "failed" && (spec.kind === "crash" ? /agent died/ : /result not serialisable|agent died/).test(error ?? "");
    if (!ended || !ranWithin) {
      poisonMisbehaved += 1;
      progress(`poison task ${id} (${spec.kind}): state ${state}, ran ${runs[id] ?? 0} of ${spec.maxAttempts}, error ${String(error).slice(0, 120)}`);
    }
  }
  const options = await checkOptionTasks(soak, runs);
  const logs = soak.supervisor.coordinatorLogs();
  progress(`coordinator log lines by message: ${logs.topMessages.map(([m, n]) => `${n}× ${m}`).join("; ")}`);
  return {
    submitted: submitted.length,
    done,
    failed,
    lost: soak.unfinished,
    runTwiceByMove: movedWhileRunning.size,
    staleDirectivesExecuted,
    workloadDrift,
    unfoldedEvents,
    rerunsAfterCrashes: await tasksRunTwice(redis, soak.namespace),
    moves: steals.length,
    hostileInjected: injected.length,
    hostileNotDeadLettered,
    deadLetters: dead.size,
    poisonTasks: poison.size,
    poisonMisbehaved,
    ...options,
    restartsAfterPoison: soak.supervisor.unexpectedRestarts,
    drainCycles: soak.drainCycles,
    coordinatorLogBytesMax: logs.maxBytes,
  };
}

/**
 * Tasks with options ended as their option says: a retried one done; a timed-out one failed
 * (timed out, or its agent died), within its attempts; a delayed one done, never stolen nor
 * started before it was due; a cancelled one cancelled (or finished before its cancel), and
 * never run after its cancel returned.
 */
async function checkOptionTasks(soak: SoakRecord, runs: Record<string, string>) {
  const { redis, keys, options, cancels, audit, progress } = soak;
  const stolenAt = new Map<string, number>();
  for (const s of audit.stolen) stolenAt.set(s.taskId, Math.min(s.at, stolenAt.get(s.taskId) ?? Infinity));
  let optionTasksMisbehaved = 0;
  let cancelledRunAfterCancel = 0;
  let delayedEarly = 0;
  let cancelled = 0;
  const complain = (id: string, what: string) => progress(`task ${id} (${options.get(id)}): ${what}`);
  for (const [id, kind] of options) {
    const [state, error, runAt, startedAt] = await redis.hmget(keys.task(id), "state", "error", "runAt", "startedAt");
    const ran = Number(runs[id] ?? 0);
    if (state === "cancelled") cancelled += 1;
    if (kind === "retry" && state !== "done") {
      optionTasksMisbehaved += 1;
      complain(id, `state ${state}, error ${String(error).slice(0, 120)}`);
    }
    if (kind === "timeout" && !(state === "failed" && /timed out|agent died/.test(error ?? "") && ran <= TIMEOUT_ATTEMPTS)) {
      optionTasksMisbehaved += 1;
      complain(id, `state ${state}, ran ${ran}, error ${String(error).slice(0, 120)}`);
    }
    if (kind === "delayed") {
      if (state !== "done") {
        optionTasksMisbehaved += 1;
        complain(id, `state ${state}`);
      }
      if ((stolenAt.get(id) ?? Infinity) < Number(runAt) || Number(startedAt) < Number(runAt)) {
        delayedEarly += 1;
        complain(id, `due ${runAt}, started ${startedAt}, first stolen ${stolenAt.get(id)}`);
      }
    }
    if (kind === "cancel") {
      const cancel = cancels.get(id);
      const expected = cancel?.outcome === "finished" ? ["done", "failed"] : ["cancelled"];
      if (!cancel || !expected.includes(state ?? "")) {
        optionTasksMisbehaved += 1;
        complain(id, `cancel ${cancel?.outcome ?? "never made"}, state ${state}`);
      }
      if (cancel?.outcome === "cancelled" && ran > cancel.runsAtCancel) {
        cancelledRunAfterCancel += 1;
        complain(id, `ran ${ran} times, ${cancel.runsAtCancel} when its cancel returned`);
      }
    }
  }
  return { optionTasks: options.size, optionTasksMisbehaved, cancelled, cancelledRunAfterCancel, delayedEarly };
}

/**
 * Events not folded: the entries after the fold cursor. Agents keep heartbeating, so a batch may
 * be in flight at any instant: the least seen over a few seconds counts. An entry that can never
 * be folded keeps it above zero.
 */
async function leftToFold(redis: Redis, keys: Keys): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (const until = Date.now() + 15_000; Date.now() < until && least > 0; await sleep(100)) {
    const cursor = await redis.hget(keys.foldCursor, "id");
    if (cursor === null) continue;
    // Counted from the stream, not from entries-added, which entries deleted by hand would skew.
    least = Math.min(least, (await redis.xrange(keys.events, `(${cursor}`, "+", "COUNT", 100_000)).length);
  }
  return least;
}
