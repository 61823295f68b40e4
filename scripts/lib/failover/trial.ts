import type { Queue } from "bullmq";
import { agentQueueName, type Directive } from "@worksteal/protocol";
import { type NodeProcess, sleep } from "@worksteal/testkit";
import { type Bench, type Kind, STEAL_INTERVAL_MS } from "./setup.js";

const POLL_MS = 10;

export interface Sample {
  kind: Kind;
  trial: number;
  oldHolder: string;
  oldFence: number;
  /** Lease time left when the signal was sent (what a crash has to wait out). */
  remainingTtlMs: number;
  /** Tasks waiting in a1's queue at the kill: what the new leader's first round can move. */
  a1QueuedAtKill: number;
  killAt: number;
  /** createdAt − killAt of the first directive with a higher fence; null: none within the deadline. */
  failoverMs: number | null;
  newHolder: string | null;
  newFence: number | null;
  /** acquiredAt of the new lease − killAt. */
  leaseGapMs: number | null;
  /** First directive's createdAt − acquiredAt of its lease: the first planning round. */
  planMs: number | null;
  /** Why the trial failed, or anything odd seen while stopping the old leader. */
  note?: string;
}

/**
 * One trial: reads the lease and Redis TIME in one MULTI (killAt), signals the holder at once,
 * then polls for the first directive of a higher fence; the stopped replica is then started
 * again under the same id. A trial with no such directive within 5 × TTL is a failure.
 */
export async function runTrial(bench: Bench, kind: Kind, trial: number): Promise<Sample> {
  const { fleet, keys, leaseTtlMs } = bench;
  const redis = fleet.redis;
  // waitSteady returns a fixed time after a replica's start, and replicas tick on fixed periods:
  // without this random pause (up to a third of the TTL: the renewal period) the kill would land
  // at the same phase of the followers' acquire attempts and of the leader's renewals every time
  // (and flatter the figures).
  await sleep(Math.random() * Math.max(Math.floor(leaseTtlMs / 3), 100));
  const a1Wait = `${keys.bullPrefix}:${agentQueueName("a1")}:wait`;
  const replies = (await redis.multi().hgetall(keys.leader).pttl(keys.leader).time().llen(a1Wait).exec()) ?? [];
  const lease = (replies[0]?.[1] ?? {}) as Record<string, string>;
  const remainingTtlMs = Number(replies[1]?.[1] ?? -2);
  const [seconds, micros] = (replies[2]?.[1] ?? ["0", "0"]) as [string, string];
  const killAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const a1QueuedAtKill = Number(replies[3]?.[1] ?? -1);
  const oldHolder = lease.holder ?? "";
  const oldFence = Number(lease.fence ?? Number.NaN);
  const proc = fleet.coordinators.get(oldHolder);
  if (proc === undefined || !Number.isInteger(oldFence)) throw new Error(`no leader to stop: lease is ${JSON.stringify(lease)}`);
  proc.kill(kind === "crash" ? "SIGKILL" : "SIGTERM");

  const sample: Sample = {
    kind,
    trial,
    oldHolder,
    oldFence,
    remainingTtlMs,
    a1QueuedAtKill,
    killAt,
    failoverMs: null,
    newHolder: null,
    newFence: null,
    leaseGapMs: null,
    planMs: null,
  };
  // Every lease seen after the kill, by fence: who took it and when (Redis clock).
  const leases = new Map<number, { holder: string; acquiredAt: number }>();
  const trialDeadlineMs = leaseTtlMs * 5;
  const deadline = Date.now() + trialDeadlineMs;
  let first: Directive | undefined;
  while (Date.now() < deadline) {
    const now = await redis.hgetall(keys.leader);
    const fence = Number(now.fence);
    if (now.holder && fence > oldFence && !leases.has(fence)) leases.set(fence, { holder: now.holder, acquiredAt: Number(now.acquiredAt) });
    first = await firstDirectiveAbove(bench.directives, oldFence);
    if (first !== undefined) break;
    await sleep(POLL_MS);
  }
  if (first !== undefined) {
    sample.failoverMs = first.createdAt - killAt;
    sample.newFence = first.fence;
    // The lease of that fence may have come and gone between two polls: read it now if missed.
    if (!leases.has(first.fence)) {
      const now = await redis.hgetall(keys.leader);
      if (Number(now.fence) === first.fence && now.holder) leases.set(first.fence, { holder: now.holder, acquiredAt: Number(now.acquiredAt) });
    }
    const taken = leases.get(first.fence);
    if (taken) {
      sample.newHolder = taken.holder;
      sample.leaseGapMs = taken.acquiredAt - killAt;
      sample.planMs = first.createdAt - taken.acquiredAt;
      if (sample.planMs > 2 * STEAL_INTERVAL_MS)
        sample.note = `slow first directive; ${taken.holder} logged: ${logSince(fleet.coordinators.get(taken.holder), first.fence)}`;
    }
  } else {
    const seen = [...leases.entries()].map(([f, l]) => `fence ${f} by ${l.holder}`).join(", ");
    sample.note = `no directive with fence > ${oldFence} within ${trialDeadlineMs} ms (leases after the kill: ${seen || "none"})`;
  }

  // The stopped replica: make sure it is gone, then start it again under the same id.
  const exit = await Promise.race([proc.exited, sleep(5000).then(() => undefined)]);
  if (exit === undefined) {
    sample.note = `${sample.note ? `${sample.note}; ` : ""}${oldHolder} did not exit within 5 s of SIGTERM`;
    proc.kill("SIGKILL");
    await proc.exited;
  } else if (kind === "graceful" && exit.code !== 0) {
    sample.note = `${sample.note ? `${sample.note}; ` : ""}${oldHolder} exited with code ${exit.code} signal ${exit.signal}`;
  }
  await fleet.startCoordinator({ WORKSTEAL_REPLICA_ID: oldHolder });
  return sample;
}

/** What a replica logged from "became leader" with `fence` on, in short: time (local ms) and message. */
function logSince(proc: NodeProcess | undefined, fence: number): string {
  if (proc === undefined) return "?";
  const from = proc.lines.findIndex((l) => l.json?.msg === "became leader" && l.json.fence === fence);
  if (from < 0) return "no 'became leader' line";
  const t0 = Number(proc.lines[from]!.json!.time);
  return proc.lines
    .slice(from, from + 8)
    .map((l) => {
      const msg = typeof l.json?.msg === "string" ? l.json.msg : l.text;
      const round = typeof l.json?.round === "number" ? ` r${l.json.round}` : "";
      return `+${Number(l.json?.time) - t0}ms ${msg}${round}`;
    })
    .join(" | ");
}

/**
 * The earliest directive (by createdAt) whose fence is above `fence`, or undefined. Directive ids
 * are `f<fence>-r<round>-<n>`; the ids of every state are listed in one Lua call (BullMQ's
 * getRanges), the newest few hundred of the finished ones, which is far more than a leader queues
 * between two polls.
 */
async function firstDirectiveAbove(queue: Queue<Directive>, fence: number): Promise<Directive | undefined> {
  const ids = await queue.getRanges(["wait", "active", "delayed", "prioritized", "waiting-children", "completed", "failed"], 0, 199, false);
  const newer = ids.filter((id) => Number(/^f(\d+)-/.exec(id)?.[1] ?? -1) > fence);
  if (newer.length === 0) return undefined;
  const jobs = await Promise.all(newer.map((id) => queue.getJob(id)));
  let first: Directive | undefined;
  for (const job of jobs) {
    const d = job?.data;
    if (d && d.fence > fence && (first === undefined || d.createdAt < first.createdAt)) first = d;
  }
  return first;
}
