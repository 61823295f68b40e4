/**
 * Benchmark: how long the replica set goes without planning when its leader dies.
 *
 *   pnpm bench:failover [--trials 20] [--lease-ttl 2000] [--json]
 *
 * A private redis-server (or REDIS_URL, with a namespace of its own), three coordinator
 * processes r1 r2 r3, and a constant imbalance: agent a1 (one slot) receives every task, agent
 * a2 (many slots) receives none and is never saturated, so each planning round of the leader
 * moves what reached a1 since the last one and queues a directive.
 *
 * One trial: read the lease {holder, fence} and Redis TIME in one MULTI (killAt), signal the
 * holder at once (crash: SIGKILL; graceful: SIGTERM, which releases the lease), then poll the
 * directive queue for the first directive whose fence is above the old one. Failover is that
 * directive's createdAt (stamped by the new leader from Redis TIME) minus killAt, both on the
 * Redis clock, so neither polling nor this process's scheduling enters the figure. The stopped
 * replica is then started again under the same id, and the next trial waits until directives
 * flow again. Kinds alternate, crash first. A random pause (up to the renewal period) before each
 * signal keeps the kill from landing at the same phase of the replicas' lease timers each time.
 *
 * Goals: graceful < 300 ms; crash < lease TTL + 300 ms (a crashed leader's lease must run out
 * first: its remaining TTL at the kill, at most the TTL, is the floor). A trial with no new
 * directive within 5 × TTL is a failure, reported as such.
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { z } from "zod";
import { Client } from "@worksteal/agent";
import { loadConfig } from "@worksteal/config";
import { agentQueueName, DIRECTIVE_QUEUE, type Directive, keysFor } from "@worksteal/protocol";
import type { NodeProcess } from "@worksteal/testkit";
import { type Fleet, NoRedisError, startFleet } from "./lib/fleet.js";
import { redisClock } from "./lib/readiness.js";

const { values } = parseArgs({
  options: {
    trials: { type: "string", default: "20" },
    "lease-ttl": { type: "string", default: "2000" },
    json: { type: "boolean", default: false },
  },
});
const parsed = z
  .object({
    trials: z.coerce.number().int().min(1).max(1000),
    "lease-ttl": z.coerce.number().int().min(200).max(60_000),
    json: z.boolean(),
  })
  .safeParse(values);
if (!parsed.success) {
  console.error(`bench:failover: ${parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(2);
}
const args = parsed.data;
const progress = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const LEASE_TTL_MS = args["lease-ttl"];
const STEAL_INTERVAL_MS = 100;
const MAX_STEAL_BATCH = 10;
const REPLICA_IDS = ["r1", "r2", "r3"] as const;
const KINDS = ["crash", "graceful"] as const;
type Kind = (typeof KINDS)[number];

/**
 * The workload. a1 runs one 1 s task at a time and receives every task; a2 has many slots and
 * receives none. Tasks arrive at FEED_RATE per second, about three per planning round, so a1
 * always holds a few queued tasks that the balanced planner hands to a2 (a2 keeps about
 * FEED_RATE × 1 s tasks running, well below its slots, so it stays a thief). Arrivals pause while
 * a1 holds A1_MAX_QUEUED (e.g. while no leader plans) or a2 nears its slots: the load is bounded.
 */
const TASK_MS = 1000;
const FEED_RATE = 30;
const FEED_TICK_MS = 20;
const A1_MAX_QUEUED = 50;
const A2_CONCURRENCY = 50;
const A2_MAX_LOAD = A2_CONCURRENCY - 5;
const AGENTS = [
  { id: "a1", capabilities: [], concurrency: 1, speed: 1 },
  { id: "a2", capabilities: [], concurrency: A2_CONCURRENCY, speed: 1 },
];

/** Steady: over the last STEADY_WINDOW_MS, at least this share of the leader's rounds queued a directive. */
const STEADY_WINDOW_MS = 1000;
const STEADY_MIN_SHARE = 0.7;
const STEADY_TIMEOUT_MS = 30_000;
const POLL_MS = 10;
/** The replicas' heartbeat period: they read the same environment as this process. */
const HEARTBEAT_INTERVAL_MS = loadConfig().heartbeatIntervalMs;
const TRIAL_DEADLINE_MS = LEASE_TTL_MS * 5;
/** The kill lands at a uniformly random phase of the leader's renewals and the followers' attempts. */
const KILL_JITTER_MS = Math.max(Math.floor(LEASE_TTL_MS / 3), 100);

interface Sample {
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

interface Row {
  kind: Kind;
  trials: number;
  failures: number;
  medianMs: number | null;
  p90Ms: number | null;
  worstMs: number | null;
  goalMs: number;
  pass: boolean;
  medianLeaseGapMs: number | null;
  medianPlanMs: number | null;
  medianRemainingTtlMs: number | null;
}

const namespace = `bench-failover-${process.pid}`;
const keys = keysFor(namespace);

/** Submits tasks to a1 at FEED_RATE per second while a1's queue and a2's load stay below their caps. */
class Feeder {
  private readonly client: Client;
  private readonly a1: Queue;
  private readonly a2: Queue;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private credit = 0;
  private last = Date.now();
  private next = 0;
  private errors = 0;

  constructor(fleet: Fleet) {
    this.client = new Client({ config: { redisUrl: fleet.redisUrl, namespace, logLevel: "warn" }, redis: fleet.redis });
    this.a1 = new Queue(agentQueueName("a1"), { connection: fleet.redis, prefix: keys.bullPrefix });
    this.a2 = new Queue(agentQueueName("a2"), { connection: fleet.redis, prefix: keys.bullPrefix });
  }

  start(): void {
    this.last = Date.now();
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.tick()
        .catch((error: unknown) => {
          if (++this.errors <= 5) progress(`[feeder] ${String(error)}`);
        })
        .finally(() => {
          this.busy = false;
        });
    }, FEED_TICK_MS);
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    this.credit = Math.min(this.credit + ((now - this.last) * FEED_RATE) / 1000, 5);
    this.last = now;
    const due = Math.floor(this.credit);
    if (due === 0) return;
    const [a1, a2] = await Promise.all([this.a1.getJobCounts("wait", "prioritized"), this.a2.getJobCounts("wait", "prioritized", "active")]);
    const a1Queued = (a1.wait ?? 0) + (a1.prioritized ?? 0);
    const a2Load = (a2.wait ?? 0) + (a2.prioritized ?? 0) + (a2.active ?? 0);
    if (a1Queued >= A1_MAX_QUEUED || a2Load >= A2_MAX_LOAD) {
      this.credit = 0;
      return;
    }
    this.credit -= due;
    await Promise.all(
      Array.from({ length: due }, () =>
        this.client.submit({ id: `t${++this.next}`, type: "slow", payload: { ms: TASK_MS }, estimatedDurationMs: TASK_MS, agentId: "a1" }),
      ),
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await sleep(10);
    await Promise.all([this.a1.close(), this.a2.close()]).catch(() => undefined);
    await this.client.close().catch(() => undefined);
  }
}

const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? "unknown cpu"}, node ${process.version}`;

let fleet: Fleet | undefined;
let feeder: Feeder | undefined;
let directives: Queue<Directive> | undefined;
const replicas = new Map<string, NodeProcess>();
const samples: Sample[] = [];
let steadiness: SteadyState | undefined;
let exitCode = 0;

try {
  progress(`[setup] redis ${process.env.REDIS_URL ? "from REDIS_URL" : "private redis-server"}, namespace ${namespace}`);
  fleet = await startFleet({
    namespace,
    agents: AGENTS,
    coordinators: 0,
    env: {
      WORKSTEAL_LEASE_TTL_MS: String(LEASE_TTL_MS),
      WORKSTEAL_STEAL_INTERVAL: String(STEAL_INTERVAL_MS),
      WORKSTEAL_MAX_STEAL_BATCH: String(MAX_STEAL_BATCH),
    },
  });
  for (const id of REPLICA_IDS) replicas.set(id, await fleet.startCoordinator({ WORKSTEAL_REPLICA_ID: id }));
  progress(
    `[setup] replicas ${REPLICA_IDS.join(" ")} and agents a1 (1 slot) a2 (${A2_CONCURRENCY} slots) up; feeding a1 ${FEED_RATE} tasks/s of ${TASK_MS} ms`,
  );
  directives = new Queue<Directive>(DIRECTIVE_QUEUE, { connection: fleet.redis, prefix: keys.bullPrefix });
  feeder = new Feeder(fleet);
  feeder.start();

  steadiness = await waitSteady(fleet, directives);
  progress(
    `[setup] directives flow: ${steadiness.withDirective}/${steadiness.rounds} rounds of leader ${steadiness.holder} (fence ${steadiness.fence}) queued one`,
  );

  for (let trial = 1; trial <= args.trials; trial++) {
    for (const kind of KINDS) {
      await waitSteady(fleet, directives);
      const sample = await runTrial(fleet, directives, kind, trial);
      samples.push(sample);
      progress(
        `[${kind} ${trial}/${args.trials}] ${sample.oldHolder} (fence ${sample.oldFence}, ttl left ${sample.remainingTtlMs} ms) -> ` +
          (sample.failoverMs === null
            ? `FAILED: ${sample.note ?? "no directive"}`
            : `${sample.newHolder} (fence ${sample.newFence}): failover ${sample.failoverMs} ms (lease ${sample.leaseGapMs ?? "?"} + plan ${sample.planMs ?? "?"})` +
              (sample.note ? ` [${sample.note}]` : "")),
      );
    }
  }
} catch (error) {
  exitCode = 1;
  if (error instanceof NoRedisError) {
    progress(`bench:failover: ${error.message}`);
    exitCode = 2;
  } else progress(`bench:failover: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await feeder?.stop();
  await directives?.close().catch(() => undefined);
  await fleet?.stop().catch((error: unknown) => progress(`bench:failover: cleanup: ${String(error)}`));
}

if (samples.length > 0) report();
// Non-zero when the run broke off, or when a kind missed its goal.
process.exit(exitCode !== 0 ? exitCode : rows().every((r) => r.pass) ? 0 : 1);

// ---------------------------------------------------------------------------------------------

function rows(): Row[] {
  return KINDS.map((kind) => {
    const mine = samples.filter((s) => s.kind === kind);
    const ok = mine.flatMap((s) => (s.failoverMs === null ? [] : [s.failoverMs]));
    const goalMs = kind === "graceful" ? 300 : LEASE_TTL_MS + 300;
    const worst = ok.length > 0 ? Math.max(...ok) : null;
    const failures = mine.length - ok.length;
    return {
      kind,
      trials: mine.length,
      failures,
      medianMs: quantile(ok, 0.5),
      p90Ms: quantile(ok, 0.9),
      worstMs: worst,
      goalMs,
      pass: mine.length > 0 && failures === 0 && worst !== null && worst < goalMs,
      medianLeaseGapMs: quantile(
        mine.flatMap((s) => (s.leaseGapMs === null ? [] : [s.leaseGapMs])),
        0.5,
      ),
      medianPlanMs: quantile(
        mine.flatMap((s) => (s.planMs === null ? [] : [s.planMs])),
        0.5,
      ),
      medianRemainingTtlMs: quantile(
        mine.map((s) => s.remainingTtlMs),
        0.5,
      ),
    };
  });
}

function report(): void {
  const table = rows();
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({
        leaseTtlMs: LEASE_TTL_MS,
        stealIntervalMs: STEAL_INTERVAL_MS,
        maxStealBatch: MAX_STEAL_BATCH,
        replicas: REPLICA_IDS.length,
        machine,
        workload: { agents: AGENTS, taskMs: TASK_MS, feedRatePerSec: FEED_RATE, a1MaxQueued: A1_MAX_QUEUED },
        steadiness: steadiness ?? null,
        rows: table,
        samples,
      })}\n`,
    );
    return;
  }
  console.log(`failover: ${REPLICA_IDS.length} replicas, lease TTL ${LEASE_TTL_MS} ms, stealInterval ${STEAL_INTERVAL_MS} ms; ${machine}`);
  console.log("failover = createdAt of the first directive with a higher fence − Redis TIME just before the signal; pass = every trial below the goal");
  console.log("kind      trials  fail  median ms  p90 ms  worst ms  goal ms  result  (median: ttl left, lease gap, plan)");
  for (const r of table) {
    const f = (x: number | null) => (x === null ? "-" : String(Math.round(x)));
    console.log(
      `${r.kind.padEnd(9)} ${String(r.trials).padStart(6)}  ${String(r.failures).padStart(4)}  ${f(r.medianMs).padStart(9)}  ${f(r.p90Ms).padStart(6)}  ${f(r.worstMs).padStart(8)}  ${`< ${r.goalMs}`.padStart(7)}  ${(r.pass ? "pass" : "FAIL").padStart(6)}  (${f(r.medianRemainingTtlMs)}, ${f(r.medianLeaseGapMs)}, ${f(r.medianPlanMs)})`,
    );
  }
}

/** Nearest-rank quantile; null for no values. */
function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

// ---------------------------------------------------------------------------------------------

async function runTrial(fleet: Fleet, queue: Queue<Directive>, kind: Kind, trial: number): Promise<Sample> {
  const redis = fleet.redis;
  // waitSteady returns a fixed time after a replica's start, and replicas tick on fixed periods:
  // without this random pause the kill would land at the same phase of the followers' acquire
  // attempts and of the leader's renewals every time (and flatter the figures).
  await sleep(Math.random() * KILL_JITTER_MS);
  const a1Wait = `${keys.bullPrefix}:${agentQueueName("a1")}:wait`;
  const replies = (await redis.multi().hgetall(keys.leader).pttl(keys.leader).time().llen(a1Wait).exec()) ?? [];
  const lease = (replies[0]?.[1] ?? {}) as Record<string, string>;
  const remainingTtlMs = Number(replies[1]?.[1] ?? -2);
  const [seconds, micros] = (replies[2]?.[1] ?? ["0", "0"]) as [string, string];
  const killAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const a1QueuedAtKill = Number(replies[3]?.[1] ?? -1);
  const oldHolder = lease.holder ?? "";
  const oldFence = Number(lease.fence ?? Number.NaN);
  const proc = replicas.get(oldHolder);
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
  const deadline = Date.now() + TRIAL_DEADLINE_MS;
  let first: Directive | undefined;
  while (Date.now() < deadline) {
    const now = await redis.hgetall(keys.leader);
    const fence = Number(now.fence);
    if (now.holder && fence > oldFence && !leases.has(fence)) leases.set(fence, { holder: now.holder, acquiredAt: Number(now.acquiredAt) });
    first = await firstDirectiveAbove(queue, oldFence);
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
        sample.note = `slow first directive; ${taken.holder} logged: ${logSince(replicas.get(taken.holder), first.fence)}`;
    }
  } else {
    const seen = [...leases.entries()].map(([f, l]) => `fence ${f} by ${l.holder}`).join(", ");
    sample.note = `no directive with fence > ${oldFence} within ${TRIAL_DEADLINE_MS} ms (leases after the kill: ${seen || "none"})`;
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
  replicas.set(oldHolder, await fleet.startCoordinator({ WORKSTEAL_REPLICA_ID: oldHolder }));
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
    .map((l) => `+${Number(l.json?.time) - t0}ms ${String(l.json?.msg ?? l.text)}${l.json?.round !== undefined ? ` r${String(l.json.round)}` : ""}`)
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

// ---------------------------------------------------------------------------------------------

interface SteadyState {
  holder: string;
  fence: number;
  /** Planning rounds of this leadership in the window, and how many of them queued a directive. */
  rounds: number;
  withDirective: number;
}

/**
 * Waits until every replica runs, one holds the lease, and over the last STEADY_WINDOW_MS at
 * least STEADY_MIN_SHARE of that leader's planning rounds queued a directive (round numbers are
 * in directive ids and count every round, with or without directives). Throws after
 * STEADY_TIMEOUT_MS: the workload then does not produce directives continuously.
 */
async function waitSteady(fleet: Fleet, queue: Queue<Directive>): Promise<SteadyState> {
  const deadline = Date.now() + STEADY_TIMEOUT_MS;
  const expected = Math.floor(STEADY_WINDOW_MS / STEAL_INTERVAL_MS);
  let last = "";
  while (Date.now() < deadline) {
    const lease = await fleet.redis.hgetall(keys.leader);
    const fence = Number(lease.fence);
    if (lease.holder && Number.isInteger(fence)) {
      const before = await roundsOf(queue, fence);
      await sleep(STEADY_WINDOW_MS);
      const after = await roundsOf(queue, fence);
      const still = await fleet.redis.hget(keys.leader, "fence");
      const maxBefore = Math.max(0, ...before);
      const window = [...after].filter((r) => r > maxBefore);
      const rounds = after.size === 0 ? 0 : Math.max(...after) - maxBefore;
      const alive = await allReplicasBeating(fleet);
      const state = { holder: lease.holder, fence, rounds, withDirective: window.length };
      last = `leader ${lease.holder} fence ${fence}: ${window.length} of ${rounds} rounds queued a directive in ${STEADY_WINDOW_MS} ms`;
      if (alive && Number(still) === fence && before.size > 0 && rounds >= expected * 0.7 && window.length >= rounds * STEADY_MIN_SHARE) return state;
    } else {
      last = "no leader";
      await sleep(50);
    }
  }
  throw new Error(`the workload does not produce directives continuously (${STEADY_TIMEOUT_MS} ms): last look: ${last}`);
}

/** Every replica heartbeated within two heartbeat intervals (Redis clock): none has died or hangs. */
async function allReplicasBeating(fleet: Fleet): Promise<boolean> {
  const [beats, now] = await Promise.all([fleet.redis.hgetall(keys.replicas), redisClock(fleet.redis)]);
  return REPLICA_IDS.every((id) => now - Number(beats[id] ?? 0) <= 2 * HEARTBEAT_INTERVAL_MS);
}

/** Round numbers of the directives of `fence` among the newest few hundred. */
async function roundsOf(queue: Queue<Directive>, fence: number): Promise<Set<number>> {
  const ids = await queue.getRanges(["wait", "active", "delayed", "prioritized", "completed", "failed"], 0, 299, false);
  const rounds = new Set<number>();
  for (const id of ids) {
    const m = /^f(\d+)-r(\d+)-/.exec(id);
    if (m && Number(m[1]) === fence) rounds.add(Number(m[2]));
  }
  return rounds;
}
