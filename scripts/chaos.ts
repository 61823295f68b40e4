/**
 * Chaos soak: its own Redis with AOF, three coordinators and eight agents (mixed capabilities,
 * slots and speeds), each its own process, and a steady stream of tasks. For `--duration`
 * seconds it SIGKILLs a random agent or coordinator every few seconds and restarts it under the
 * same id, SIGSTOPs the leader past its lease twice, restarts Redis once, drains and undrains
 * agents while steals go on, and sends hostile work: poison tasks (a result that cannot be
 * stored, a handler that kills its agent, tasks longer than their lock) and hostile stream
 * entries (malformed, oversized, many-field, invalid UTF-8, forged, replayed). Then it lets the
 * system go quiet and checks the invariants, printing one line (or, with --json, one JSON object):
 *
 *   submitted, done, failed, lost, run twice because of a move, stale directives executed,
 *   workload drift after quiet, events left unfolded, hostile entries not dead-lettered, poison
 *   tasks not failed within their attempts, and the coordinators' log volume
 *
 *   pnpm chaos [--duration 60] [--tasks 20000] [--seed 7] [--json]
 *
 * Exits 1 if any invariant fails. Progress goes to stderr.
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { z } from "zod";
import { Client, type SubmitInput } from "@worksteal/client";
import { FOLD_GROUP, keysFor, parseEventEntry } from "@worksteal/protocol";
import { AgentQueues, isRefusedAgent, Store } from "@worksteal/store";
import { type NodeProcess, NotReadyError, sleep, spawnNode, startRedisServer, waitUntilReady } from "@worksteal/testkit";
import { deadLetteredIds, FUZZ_SHAPES, injectHostileEntry, POISON_KINDS, type PoisonKind, poisonTask } from "./lib/hostile.js";
import { seededRandom } from "./lib/random.js";
import { agentUp, redisClock, replicaBeating } from "./lib/readiness.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "60" },
    tasks: { type: "string", default: "20000" },
    seed: { type: "string", default: "7" },
    json: { type: "boolean", default: false },
  },
});
const parsed = z
  .object({
    duration: z.coerce
      .number()
      .int()
      .min(10)
      .max(24 * 3600),
    tasks: z.coerce.number().int().min(100).max(10_000_000),
    seed: z.coerce.number().int(),
    json: z.boolean(),
  })
  .safeParse(values);
if (!parsed.success) {
  console.error(`chaos: ${parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(2);
}
const args = parsed.data;
const random = seededRandom(args.seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const started = Date.now();
const progress = (line: string) => process.stderr.write(`[chaos ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

const LEASE_TTL_MS = 2000;
const LOCK_MS = 3000;
/** Ordinary tasks survive this many runs cut short by a kill; poison tasks have their own. */
const ORDINARY_ATTEMPTS = 10;
const SETTINGS: Record<string, string> = {
  WORKSTEAL_LEASE_TTL_MS: String(LEASE_TTL_MS),
  WORKSTEAL_STEAL_INTERVAL: "250",
  WORKSTEAL_MAX_STEAL_BATCH: "50",
  WORKSTEAL_AGENT_TTL_MS: "3000",
  WORKSTEAL_HEARTBEAT_INTERVAL_MS: "500",
  WORKSTEAL_LOCK_DURATION_MS: String(LOCK_MS),
  WORKSTEAL_CLAIM_IDLE_MS: "2000",
  WORKSTEAL_MAINTENANCE_INTERVAL_MS: "1000",
  WORKSTEAL_LOG_LEVEL: "warn",
};
const AGENTS = [
  { id: "g1", capabilities: ["gpu"], concurrency: 2, speed: 1 },
  { id: "g2", capabilities: ["gpu", "ssd"], concurrency: 1, speed: 0.8 },
  { id: "s1", capabilities: ["ssd"], concurrency: 2, speed: 1.2 },
  { id: "c1", capabilities: [], concurrency: 4, speed: 1 },
  { id: "c2", capabilities: [], concurrency: 2, speed: 1.5 },
  { id: "c3", capabilities: [], concurrency: 2, speed: 1 },
  { id: "c4", capabilities: [], concurrency: 1, speed: 0.7 },
  { id: "c5", capabilities: [], concurrency: 3, speed: 1 },
];
const COORDINATORS = ["k1", "k2", "k3"];

const server = await startRedisServer({ appendOnly: true });
const namespace = "chaos";
const keys = keysFor(namespace);
const env = { REDIS_URL: server.url, WORKSTEAL_NAMESPACE: namespace, ...SETTINGS };
const redis = new Redis(server.url, { maxRetriesPerRequest: 3 });
redis.on("error", () => undefined);
const client = new Client({ config: { redisUrl: server.url, namespace, logLevel: "silent" }, redis });
const store = new Store(redis, namespace);
const queues = new AgentQueues(redis, keys);
const procs = new Map<string, NodeProcess>();
/** Ids being killed and restarted by the fault loop: their exits are expected. */
const killing = new Set<string>();
/** Bytes each coordinator process wrote to its log (stdout), summed over its restarts. */
const coordinatorLogBytes = new Map<string, number>();
let unexpectedRestarts = 0;

/** How many lines of each message the coordinators logged: the log volume, explained. */
const coordinatorLogMessages = new Map<string, number>();
function countLog(proc: NodeProcess): number {
  let bytes = 0;
  for (const line of proc.lines) {
    bytes += line.text.length + 1;
    const msg = String(line.json?.msg ?? "(not JSON)");
    coordinatorLogMessages.set(msg, (coordinatorLogMessages.get(msg) ?? 0) + 1);
  }
  return bytes;
}

/** Restarts a process that died by itself (a poison task kills its agent), as a supervisor would. */
function supervise(id: string, proc: NodeProcess): void {
  void proc.exited.then(async () => {
    if (COORDINATORS.includes(id)) coordinatorLogBytes.set(id, (coordinatorLogBytes.get(id) ?? 0) + countLog(proc));
    if (!running || killing.has(id) || starting.has(id) || procs.get(id) !== proc) return;
    unexpectedRestarts += 1;
    await restart(id).catch((error: Error) => progress(`restart of ${id} failed: ${error.message}`));
  });
}
async function startCoordinator(id: string): Promise<void> {
  const since = await redisClock(redis);
  const proc = spawnNode("packages/coordinator/src/main.ts", [], { env: { ...env, WORKSTEAL_REPLICA_ID: id, WORKSTEAL_LOG_LEVEL: "info" } });
  procs.set(id, proc);
  supervise(id, proc);
  await waitUntilReady(proc, replicaBeating(redis, namespace, id, since), { what: `coordinator ${id}` });
}
async function startAgent(id: string): Promise<void> {
  const spec = AGENTS.find((a) => a.id === id)!;
  const since = await redisClock(redis);
  const proc = spawnNode(
    "scripts/lib/agent-process.ts",
    ["--id", id, "--capabilities", spec.capabilities.join(","), "--concurrency", String(spec.concurrency), "--speed", String(spec.speed)],
    { env },
  );
  procs.set(id, proc);
  supervise(id, proc);
  await waitUntilReady(proc, agentUp(redis, queues, namespace, id, since), { what: `agent ${id}` });
}
/** Ids being started again: an exit before they are ready is handled by `restart` itself. */
const starting = new Set<string>();
/**
 * Starts a process again under the same id. A poison task can kill an agent before it is even
 * ready (its worker takes the job at once): it is then started again, a few times at most.
 */
async function restart(id: string): Promise<void> {
  starting.add(id);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await (COORDINATORS.includes(id) ? startCoordinator(id) : startAgent(id));
      } catch (error) {
        if (!(error instanceof NotReadyError) || attempt >= 5 || !running) throw error;
        progress(`${id} died while starting (${error.message}); starting it again`);
      }
    }
  } finally {
    starting.delete(id);
  }
}

/**
 * Reads every event through a group of its own (so trimming waits for it too), keeping what the
 * checks need: steals, and per task and epoch the runs that ended in a retry or were taken up
 * again after a crash (both leave the task queued or running at the same epoch, legitimately).
 * Entries the stream fuzzer wrote are told apart by id at check time.
 */
const audit = {
  stolen: [] as Array<{ id: string; taskId: string; epoch: number; fence: number; at: number }>,
  rerunnable: [] as Array<{ id: string; key: string }>,
  fences: new Map<number, number>(),
};
async function auditEvents(reader: Redis): Promise<void> {
  const entries = (await reader.xreadgroup("GROUP", "chaos-audit", "auditor", "COUNT", 1000, "STREAMS", keys.events, ">")) as Array<
    [string, Array<[string, string[]]>]
  > | null;
  const batch = entries?.[0]?.[1] ?? [];
  for (const [id, fields] of batch) {
    const entry = parseEventEntry(fields);
    if (!entry.ok) continue;
    const event = entry.event;
    if (event.kind === "task:stolen") {
      const fence = Number(/^f(\d+)-/.exec(event.directiveId)?.[1] ?? -1);
      audit.stolen.push({ id, taskId: event.taskId, epoch: event.epoch, fence, at: event.at });
    }
    if ((event.kind === "task:failed" && !event.final) || (event.kind === "task:started" && event.restarted)) {
      audit.rerunnable.push({ id, key: `${event.taskId}@${event.epoch}` });
    }
  }
  if (batch.length > 0) await reader.xack(keys.events, "chaos-audit", ...batch.map(([id]) => id));
}
/** Samples the lease: when each fence was first seen holding it (its acquiredAt, Redis clock). */
async function sampleLease(): Promise<void> {
  const lease = await redis.hgetall(keys.leader);
  if (lease.fence && !audit.fences.has(Number(lease.fence))) audit.fences.set(Number(lease.fence), Number(lease.acquiredAt));
}

let running = true;
const background: Array<Promise<void>> = [];
function loop(name: string, everyMs: number, body: () => Promise<void>): void {
  background.push(
    (async () => {
      while (running) {
        await body().catch((error: Error) => progress(`${name}: ${error.message}`));
        await sleep(everyMs);
      }
    })(),
  );
}

const submitted: string[] = [];
const poison = new Map<string, { kind: PoisonKind; maxAttempts: number }>();
const injected: string[] = [];
let drainCycles = 0;
let outcome: Record<string, number> | undefined;
try {
  progress(`redis ${server.url} (AOF); starting ${COORDINATORS.length} coordinators and ${AGENTS.length} agents`);
  await redis.xgroup("CREATE", keys.events, "chaos-audit", "0", "MKSTREAM");
  for (const id of COORDINATORS) await startCoordinator(id);
  await Promise.all(AGENTS.map((a) => startAgent(a.id)));
  const auditReader = new Redis(server.url, { maxRetriesPerRequest: 3 });
  auditReader.on("error", () => undefined);
  loop("audit", 200, () => auditEvents(auditReader));
  loop("lease", 100, sampleLease);

  // Tasks arrive steadily over the first 80% of the run; a skew sends half to g1 and c1. About
  // one in a hundred is poison: a result that cannot be stored, a handler that kills its agent
  // (rarer: each one takes an agent down twice), or a task longer than its job's lock.
  const tasks: SubmitInput[] = Array.from({ length: args.tasks }, (_, i) => {
    const needs = random() < 0.15 ? ["gpu"] : random() < 0.1 ? ["ssd"] : [];
    const route = random();
    const agentId = needs.length > 0 ? (route < 0.5 ? (needs[0] === "gpu" ? "g1" : "s1") : undefined) : route < 0.3 ? "g1" : route < 0.5 ? "c1" : undefined;
    const roll = random();
    const kind: PoisonKind | undefined = roll < 0.004 ? "unserialisable" : roll < 0.005 ? "crash" : roll < 0.01 ? "long" : undefined;
    const id = `c-${i}`;
    const base = { id, type: needs[0] ?? "plain", requiredCapabilities: needs, ...(agentId ? { agentId } : {}) };
    if (!kind) return { ...base, payload: { ms: Math.round(2 + random() * 30) }, maxAttempts: ORDINARY_ATTEMPTS };
    const spec = poisonTask(kind, LOCK_MS);
    poison.set(id, { kind, maxAttempts: spec.maxAttempts });
    return { ...base, ...spec };
  });
  progress(
    `${poison.size} poison tasks among ${tasks.length}: ${POISON_KINDS.map((k) => `${[...poison.values()].filter((p) => p.kind === k).length} ${k}`).join(", ")}`,
  );
  const perTickMs = 100;
  const perTick = Math.max(1, Math.ceil(args.tasks / ((args.duration * 0.8 * 1000) / perTickMs)));
  let next = 0;
  loop("submit", perTickMs, async () => {
    const batch = tasks.slice(next, next + perTick);
    // A task named for an agent that drains or is down just then is placed instead, as a user would.
    await Promise.all(
      batch.map((t) =>
        client.submit(t).catch((error: unknown) => {
          if (!isRefusedAgent(error)) throw error;
          const { agentId: _named, ...placed } = t;
          return client.submit(placed);
        }),
      ),
    );
    // Counted only once accepted: a batch refused while Redis is down is submitted again.
    next += batch.length;
    for (const t of batch) submitted.push(t.id);
  });

  // Faults, for --duration seconds from now that the fleet is up.
  const faultsFrom = Date.now();
  const faultsUntil = faultsFrom + args.duration * 1000;
  // Hostile stream entries, a few per second, of every shape in turn.
  let shape = 0;
  loop("fuzz", 300, async () => {
    if (Date.now() >= faultsUntil) return;
    const id = await injectHostileEntry(redis, keys, FUZZ_SHAPES[shape++ % FUZZ_SHAPES.length]!, {
      taskIds: submitted,
      agentIds: AGENTS.map((a) => a.id),
      pick,
    });
    if (id) injected.push(id);
  });
  // Drain an agent during the steal storm, then take it back.
  loop("drain", 6000, async () => {
    if (Date.now() >= faultsUntil) return;
    const agent = pick(AGENTS).id;
    await store.drain(agent);
    await sleep(1500 + random() * 2500);
    await store.undrain(agent);
    drainCycles += 1;
  });
  const pauses = [faultsFrom + (args.duration * 1000) / 3, faultsFrom + (args.duration * 2000) / 3];
  let redisRestarted = false;
  let killed = 0;
  while (Date.now() < faultsUntil) {
    await sleep(2000 + random() * 3000);
    if (Date.now() >= faultsUntil) break;
    if (!redisRestarted && Date.now() > faultsFrom + (args.duration * 1000) / 2) {
      redisRestarted = true;
      progress("restarting Redis");
      await server.shutdown();
      await sleep(1500);
      await server.restart();
      continue;
    }
    if (pauses.length > 0 && Date.now() > pauses[0]!) {
      pauses.shift();
      const holder = await redis.hget(keys.leader, "holder");
      const leader = holder ? procs.get(holder) : undefined;
      if (leader) {
        progress(`SIGSTOP leader ${holder} for ${LEASE_TTL_MS + 1500} ms`);
        leader.pause();
        await sleep(LEASE_TTL_MS + 1500);
        leader.resume();
        continue;
      }
    }
    const victim = pick([...AGENTS.map((a) => a.id), ...COORDINATORS]);
    progress(`SIGKILL ${victim}`);
    killing.add(victim);
    procs.get(victim)!.kill("SIGKILL");
    await procs.get(victim)!.exited;
    killed += 1;
    await sleep(500 + random() * 1500);
    await restart(victim).finally(() => killing.delete(victim));
  }
  progress(
    `faults over (${killed} kills, ${unexpectedRestarts} restarts after poison, ${drainCycles} drains undone, ${injected.length} hostile entries); waiting for the last submissions and for quiet`,
  );
  // Whatever a drain left draining when the faults ended is taken back, so that the fleet can finish.
  for (const agent of AGENTS) await store.undrain(agent.id);
  while (next < tasks.length) await sleep(200);

  // Quiet: every task finished, or the deadline passes.
  const deadline = Date.now() + 120_000 + args.tasks * 5;
  let unfinished = submitted.length;
  while (Date.now() < deadline) {
    unfinished = 0;
    for (let i = 0; i < submitted.length; i += 2000) {
      const pipeline = redis.pipeline();
      for (const id of submitted.slice(i, i + 2000)) pipeline.hget(keys.task(id), "state");
      for (const [, state] of (await pipeline.exec()) ?? []) if (state !== "done" && state !== "failed") unfinished += 1;
    }
    if (unfinished === 0) break;
    progress(`${unfinished} tasks unfinished`);
    await sleep(2000);
  }
  // Let the folders and the reconciler catch up, then stop sampling.
  await sleep(3000);
  running = false;
  await Promise.all(background);
  await auditEvents(auditReader);
  auditReader.disconnect();
  outcome = await checkInvariants(unfinished);
} finally {
  running = false;
  for (const proc of procs.values()) proc.kill("SIGKILL");
  await Promise.all([...procs.values()].map((p) => p.exited));
  await client.close();
  await queues.close();
  redis.disconnect();
  await server.stop();
}

const failures = ["lost", "runTwiceByMove", "staleDirectivesExecuted", "workloadDrift", "unfoldedEvents", "hostileNotDeadLettered", "poisonMisbehaved"].filter(
  (k) => outcome![k] !== 0,
);
if (args.json) {
  process.stdout.write(`${JSON.stringify({ ...outcome, durationS: args.duration, ok: failures.length === 0, machine: `${cpus().length} cores` })}\n`);
} else {
  const o = outcome!;
  console.log(
    `submitted ${o.submitted}  done ${o.done}  failed ${o.failed}  lost ${o.lost}  run twice because of a move ${o.runTwiceByMove}  ` +
      `stale directives executed ${o.staleDirectivesExecuted}  workload drift after quiet ${o.workloadDrift}  unfolded ${o.unfoldedEvents}  ` +
      `hostile entries ${o.hostileInjected} (not dead-lettered ${o.hostileNotDeadLettered})  poison tasks ${o.poisonTasks} (misbehaved ${o.poisonMisbehaved})  ` +
      `(re-runs after crashes ${o.rerunsAfterCrashes}, steals ${o.moves} tasks moved, largest coordinator log ${o.coordinatorLogBytesMax} bytes)`,
  );
}
process.exit(failures.length === 0 ? 0 : 1);

/**
 * Events the fold group has not folded: read but unacknowledged, or not delivered yet. Agents keep
 * heartbeating, so a batch may be in flight at any instant: the least seen over a few seconds
 * counts. An entry that can never be folded keeps it above zero.
 */
async function leftToFold(): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (const until = Date.now() + 15_000; Date.now() < until && least > 0; await sleep(100)) {
    const groups = (await redis.xinfo("GROUPS", keys.events)) as Array<Array<string | number | null>>;
    const group = groups.find((g) => g[g.indexOf("name") + 1] === FOLD_GROUP);
    if (!group) continue;
    const pending = Number(group[group.indexOf("pending") + 1] ?? 0);
    // Counted from the stream, not XINFO's `lag`, which Redis 7.0 cannot always keep exact.
    const lastDelivered = String(group[group.indexOf("last-delivered-id") + 1]);
    const undelivered = (await redis.xrange(keys.events, `(${lastDelivered}`, "+", "COUNT", 100_000)).length;
    least = Math.min(least, pending + undelivered);
  }
  return least;
}

/** The invariants (README, "Guarantees"), read from Redis once everything is quiet. */
async function checkInvariants(unfinished: number): Promise<Record<string, number>> {
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
  // before the steal, in a retry (or was the same run taken up again after its agent died).
  // Runs are counted by the agents themselves (the run log), not read from events.
  const runs = await redis.hgetall(keys.runLog);
  const runEpochs = await redis.hgetall(keys.runEpochLog);
  const hostile = new Set(injected);
  const endedRuns = new Map<string, number>();
  for (const r of audit.rerunnable) if (!hostile.has(r.id)) endedRuns.set(r.key, (endedRuns.get(r.key) ?? 0) + 1);
  const steals = audit.stolen.filter((s) => !hostile.has(s.id));
  const movedWhileRunning = new Set(
    steals.filter((s) => Number(runEpochs[`${s.taskId}@${s.epoch - 1}`] ?? 0) > (endedRuns.get(`${s.taskId}@${s.epoch - 1}`) ?? 0)).map((s) => s.taskId),
  );
  for (const id of [...movedWhileRunning].slice(0, 10))
    progress(
      `run twice because of a move: ${id}, runs by epoch ${JSON.stringify(Object.fromEntries(Object.entries(runEpochs).filter(([k]) => k.startsWith(`${id}@`))))}`,
    );
  const runTwiceByMove = movedWhileRunning.size;
  const rerunsAfterCrashes = Object.values(runs).filter((n) => Number(n) > 1).length;

  // Only the current leader's directives act: no move by a fence after a higher fence took the lease.
  const staleDirectivesExecuted = steals.filter((s) => [...audit.fences.entries()].some(([fence, acquiredAt]) => fence > s.fence && acquiredAt < s.at)).length;

  // Workload converges: folded counters equal the task records (all history folded exactly once).
  let workloadDrift = 0;
  for (const agent of AGENTS) {
    const folded = await redis.hgetall(keys.workload(agent.id));
    const t = truth.get(agent.id) ?? { queued: 0, running: 0, done: 0, failed: 0 };
    for (const field of ["queued", "running", "done", "failed"] as const) workloadDrift += Math.abs(Number(folded[field] ?? 0) - t[field]);
  }
  const unfoldedEvents = await leftToFold();

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
  for (const proc of COORDINATORS.map((id) => [id, procs.get(id)] as const)) {
    const [id, live] = proc;
    if (live) coordinatorLogBytes.set(id, (coordinatorLogBytes.get(id) ?? 0) + countLog(live));
  }
  const top = [...coordinatorLogMessages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  progress(`coordinator log lines by message: ${top.map(([m, n]) => `${n}× ${m}`).join("; ")}`);
  return {
    submitted: submitted.length,
    done,
    failed,
    lost: unfinished,
    runTwiceByMove,
    staleDirectivesExecuted,
    workloadDrift,
    unfoldedEvents,
    rerunsAfterCrashes,
    moves: steals.length,
    hostileInjected: injected.length,
    hostileNotDeadLettered,
    deadLetters: dead.size,
    poisonTasks: poison.size,
    poisonMisbehaved,
    restartsAfterPoison: unexpectedRestarts,
    drainCycles,
    coordinatorLogBytesMax: Math.max(0, ...coordinatorLogBytes.values()),
  };
}
