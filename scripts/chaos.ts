/**
 * Chaos soak: its own Redis with AOF, three coordinators and eight agents (mixed capabilities,
 * slots and speeds), each its own process, and a steady stream of tasks. For `--duration`
 * seconds it SIGKILLs a random agent or coordinator every few seconds and restarts it under the
 * same id, SIGSTOPs the leader past its lease twice, restarts Redis once, drains and undrains
 * agents while steals go on, and sends hostile work: poison tasks (a result that cannot be
 * stored, a handler that kills its agent, tasks longer than their lock) and hostile stream
 * entries (malformed, oversized, many-field, invalid UTF-8, forged, replayed), and tasks with
 * options (retried after a backoff, timed out, delayed, cancelled). Then it lets the
 * system go quiet and checks the invariants (lib/chaos/invariants.ts), printing one line (or,
 * with --json, one JSON object):
 *
 *   submitted, done, failed, lost, run twice because of a move, stale directives executed,
 *   workload drift after quiet, events left unfolded, hostile entries not dead-lettered, poison
 *   tasks not failed within their attempts, and the coordinators' log volume
 *
 *   pnpm chaos [--duration 60] [--tasks 20000] [--seed 7] [--json]
 *
 * Exits 1 if any invariant fails. Progress goes to stderr.
 */
import { z } from "zod";
import { Client } from "@worksteal/client";
import { keysFor } from "@worksteal/protocol";
import { Store } from "@worksteal/store";
import { sleep } from "@worksteal/testkit";
import { type ArgsOf, JSON_FLAG, option, runScript } from "./lib/args.js";
import { EventAudit } from "./lib/chaos/audit.js";
import { type ChaosOutcome, checkInvariants, INVARIANTS } from "./lib/chaos/invariants.js";
import { Loops } from "./lib/chaos/loops.js";
import { Supervisor } from "./lib/chaos/supervisor.js";
import { runFaults, type Soak, submitSteadily, waitForQuiet } from "./lib/chaos/phases.js";
import { chaosTasks } from "./lib/chaos/tasks.js";
import { type AgentSpec, startFleet } from "./lib/fleet.js";
import { POISON_KINDS } from "./lib/hostile.js";
import { seededRandom } from "../packages/planner/src/simulator/random.js";
import { describeMachine, printJson } from "./lib/report.js";

const COMMAND = {
  name: "chaos",
  usage: "pnpm chaos",
  summary:
    "The chaos soak: its own Redis (AOF), three coordinators and eight agents under kills, pauses, a Redis restart, drains and hostile work; then the invariants. Exits 1 if one fails.",
  options: {
    duration: option(
      z.coerce
        .number()
        .int()
        .min(10)
        .max(24 * 3600),
      { default: "60", valueName: "S", help: "seconds of faults" },
    ),
    tasks: option(z.coerce.number().int().min(100).max(10_000_000), {
      default: "20000",
      valueName: "N",
      help: "tasks submitted over the first 80% of the run",
    }),
    seed: option(z.coerce.number().int(), { default: "7", valueName: "N", help: "seed of the tasks and of the faults" }),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

const NAMESPACE = "chaos";
const LEASE_TTL_MS = 2000;
const LOCK_MS = 3000;
const SETTINGS: Record<string, string> = {
  WORKSTEAL_LEASE_TTL_MS: String(LEASE_TTL_MS),
  WORKSTEAL_STEAL_INTERVAL: "250",
  WORKSTEAL_MAX_STEAL_BATCH: "50",
  WORKSTEAL_AGENT_TTL_MS: "3000",
  WORKSTEAL_HEARTBEAT_INTERVAL_MS: "500",
  WORKSTEAL_LOCK_DURATION_MS: String(LOCK_MS),
  WORKSTEAL_FOLD_LEASE_MS: "2000",
  WORKSTEAL_MAINTENANCE_INTERVAL_MS: "1000",
  WORKSTEAL_LOG_LEVEL: "warn",
};
const AGENTS: AgentSpec[] = [
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

async function main(args: Args): Promise<number> {
  const started = Date.now();
  const progress = (line: string) => process.stderr.write(`[chaos ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  // A Redis of its own whatever REDIS_URL says: the soak restarts it.
  const fleet = await startFleet({ namespace: NAMESPACE, agents: [], coordinators: 0, env: SETTINGS, privateRedis: true });
  const client = new Client({ config: { redisUrl: fleet.redisUrl, namespace: NAMESPACE, logLevel: "silent" }, redis: fleet.redis });
  const supervisor = new Supervisor(fleet, AGENTS, progress);
  const loops = new Loops(progress);
  let outcome: ChaosOutcome;
  try {
    progress(`redis ${fleet.redisUrl} (AOF); starting ${COORDINATORS.length} coordinators and ${AGENTS.length} agents`);
    const audit = await EventAudit.create(fleet.redis, keysFor(NAMESPACE));
    for (const id of COORDINATORS) await supervisor.start(id);
    await Promise.all(AGENTS.map((a) => supervisor.start(a.id)));
    const random = seededRandom(args.seed);
    const { tasks, poison, options } = chaosTasks(args.tasks, random, LOCK_MS);
    const store = new Store(fleet.redis, NAMESPACE);
    const soak: Soak = {
      durationS: args.duration,
      namespace: NAMESPACE,
      keys: keysFor(NAMESPACE),
      agentIds: AGENTS.map((a) => a.id),
      coordinatorIds: COORDINATORS,
      leaseTtlMs: LEASE_TTL_MS,
      fleet,
      server: fleet.server!,
      client,
      store,
      supervisor,
      audit,
      loops,
      random,
      progress,
      tasks,
      poison,
      options,
      cancels: new Map(),
      submitted: [],
      injected: [],
      drainCycles: 0,
    };
    progress(
      `${soak.poison.size} poison tasks among ${soak.tasks.length}: ${POISON_KINDS.map((k) => `${[...soak.poison.values()].filter((p) => p.kind === k).length} ${k}`).join(", ")}`,
    );
    loops.every("audit", 200, () => audit.read());
    loops.every("lease", 100, () => audit.sampleLease());
    const submission = submitSteadily(soak);
    await runFaults(soak);
    // Whatever a drain left draining when the faults ended is taken back, so that the fleet can finish.
    for (const agent of AGENTS) await soak.store.undrain(agent.id);
    await submission.done;
    const unfinished = await waitForQuiet(soak);
    // Let the folders and the reconciler catch up, then stop sampling.
    await sleep(3000);
    await loops.stop();
    await audit.read();
    outcome = await checkInvariants({ ...soak, redis: fleet.redis, unfinished });
  } finally {
    supervisor.stop();
    await loops.stop();
    await client.close();
    await fleet.stop();
  }
  const failures = INVARIANTS.filter((k) => outcome[k] !== 0);
  report(args, outcome, failures.length === 0);
  return failures.length === 0 ? 0 : 1;
}

function report(args: Args, o: ChaosOutcome, ok: boolean): void {
  if (args.json) {
    printJson({ ...o, durationS: args.duration, ok, machine: describeMachine() });
    return;
  }
  console.log(
    `submitted ${o.submitted}  done ${o.done}  failed ${o.failed}  lost ${o.lost}  run twice because of a move ${o.runTwiceByMove}  ` +
      `stale directives executed ${o.staleDirectivesExecuted}  workload drift after quiet ${o.workloadDrift}  unfolded ${o.unfoldedEvents}  ` +
      `hostile entries ${o.hostileInjected} (not dead-lettered ${o.hostileNotDeadLettered})  poison tasks ${o.poisonTasks} (misbehaved ${o.poisonMisbehaved})  ` +
      `tasks with options ${o.optionTasks} (misbehaved ${o.optionTasksMisbehaved}), cancelled ${o.cancelled} (run after their cancel ${o.cancelledRunAfterCancel}), ` +
      `delayed started or stolen early ${o.delayedEarly}  ` +
      `(re-runs after crashes ${o.rerunsAfterCrashes}, steals ${o.moves} tasks moved, largest coordinator log ${o.coordinatorLogBytesMax} bytes)`,
  );
}

await runScript(COMMAND, main);
