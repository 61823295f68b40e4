/** The phases of the chaos soak (scripts/chaos.ts): steady submissions, faults, and the wait for quiet. */
import type { Client, SubmitInput } from "@worksteal/client";
import type { Keys } from "@worksteal/protocol";
import { type CancelOutcome, isRefusedAgent, type Store } from "@worksteal/store";
import { type RedisServer, sleep } from "@worksteal/testkit";
import type { Fleet } from "../fleet.js";
import { FUZZ_SHAPES, injectHostileEntry } from "../hostile.js";
import type { EventAudit } from "./audit.js";
import type { Loops } from "./loops.js";
import type { Supervisor } from "./supervisor.js";
import type { OptionKind, PoisonSpecs } from "./tasks.js";

/** One run of the soak: what every phase works with, and what it did so far. */
export interface Soak {
  /** Seconds of faults. */
  durationS: number;
  namespace: string;
  keys: Keys;
  agentIds: readonly string[];
  coordinatorIds: readonly string[];
  leaseTtlMs: number;
  fleet: Fleet;
  server: RedisServer;
  client: Client;
  store: Store;
  supervisor: Supervisor;
  audit: EventAudit;
  loops: Loops;
  random: () => number;
  progress: (line: string) => void;
  tasks: SubmitInput[];
  poison: PoisonSpecs;
  options: Map<string, OptionKind>;
  /** Each cancel the soak made: what it answered, and the task's handler runs (the run log) just after it returned. */
  cancels: Map<string, { outcome: CancelOutcome; runsAtCancel: number }>;
  /** Accepted submissions, in order. */
  submitted: string[];
  injected: string[];
  drainCycles: number;
}

/**
 * Tasks arrive steadily over the first 80% of the run. A task named for an agent that drains or
 * is down just then is placed instead, as a user would. `done` resolves once every task is in.
 */
export function submitSteadily(soak: Soak): { done: Promise<void> } {
  const { tasks, client } = soak;
  const perTickMs = 100;
  const perTick = Math.max(1, Math.ceil(tasks.length / ((soak.durationS * 0.8 * 1000) / perTickMs)));
  let next = 0;
  let toCancel: string[] = [];
  soak.loops.every("submit", perTickMs, async () => {
    // Last tick's `cancel` tasks: queued or running by now. One that failed (Redis away) waits for the next tick.
    const cancelling = toCancel;
    toCancel = [];
    await Promise.all(
      cancelling.map(async (id) => {
        try {
          const outcome = await soak.client.cancel(id);
          const runsAtCancel = Number((await soak.fleet.redis.hget(soak.keys.runLog, id)) ?? 0);
          soak.cancels.set(id, { outcome, runsAtCancel });
        } catch {
          toCancel.push(id);
        }
      }),
    );
    const batch = tasks.slice(next, next + perTick);
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
    for (const t of batch) soak.submitted.push(t.id);
    toCancel.push(...batch.filter((t) => soak.options.get(t.id) === "cancel").map((t) => t.id));
  });
  return {
    done: (async () => {
      while (next < tasks.length || toCancel.length > 0) await sleep(200);
    })(),
  };
}

/** Faults, for --duration seconds from now that the fleet is up: hostile entries and drains in the background, kills, pauses and a Redis restart here. */
export async function runFaults(soak: Soak): Promise<void> {
  const { durationS, random, progress, supervisor } = soak;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const faultsFrom = Date.now();
  const faultsUntil = faultsFrom + durationS * 1000;
  // Hostile stream entries, a few per second, of every shape in turn.
  let shape = 0;
  soak.loops.every("fuzz", 300, async () => {
    if (Date.now() >= faultsUntil) return;
    const id = await injectHostileEntry(soak.fleet.redis, soak.keys, FUZZ_SHAPES[shape++ % FUZZ_SHAPES.length]!, {
      taskIds: soak.submitted,
      agentIds: soak.agentIds,
      pick,
    });
    if (id) soak.injected.push(id);
  });
  // Drain an agent during the steal storm, then take it back.
  soak.loops.every("drain", 6000, async () => {
    if (Date.now() >= faultsUntil) return;
    const agent = pick(soak.agentIds);
    await soak.store.drain(agent);
    await sleep(1500 + random() * 2500);
    await soak.store.undrain(agent);
    soak.drainCycles += 1;
  });
  const pauses = [faultsFrom + (durationS * 1000) / 3, faultsFrom + (durationS * 2000) / 3];
  let redisRestarted = false;
  let killed = 0;
  while (Date.now() < faultsUntil) {
    await sleep(2000 + random() * 3000);
    if (Date.now() >= faultsUntil) break;
    if (!redisRestarted && Date.now() > faultsFrom + (durationS * 1000) / 2) {
      redisRestarted = true;
      progress("restarting Redis");
      await soak.server.shutdown();
      await sleep(1500);
      await soak.server.restart();
      continue;
    }
    if (pauses.length > 0 && Date.now() > pauses[0]!) {
      pauses.shift();
      const holder = await soak.fleet.redis.hget(soak.keys.leader, "holder");
      const leader = holder ? supervisor.process(holder) : undefined;
      if (leader) {
        progress(`SIGSTOP leader ${holder} for ${soak.leaseTtlMs + 1500} ms`);
        leader.pause();
        await sleep(soak.leaseTtlMs + 1500);
        leader.resume();
        continue;
      }
    }
    const victim = pick([...soak.agentIds, ...soak.coordinatorIds]);
    progress(`SIGKILL ${victim}`);
    await supervisor.crash(victim, 500 + random() * 1500);
    killed += 1;
  }
  progress(
    `faults over (${killed} kills, ${supervisor.unexpectedRestarts} restarts after poison, ${soak.drainCycles} drains undone, ${soak.injected.length} hostile entries); waiting for the last submissions and for quiet`,
  );
}

/** Quiet: every task finished, or the deadline passes. Returns how many did not finish. */
export async function waitForQuiet(soak: Soak): Promise<number> {
  const { redis } = soak.fleet;
  const { keys } = soak;
  const deadline = Date.now() + 120_000 + soak.tasks.length * 5;
  let unfinished = soak.submitted.length;
  while (Date.now() < deadline) {
    unfinished = 0;
    for (let i = 0; i < soak.submitted.length; i += 2000) {
      const pipeline = redis.pipeline();
      for (const id of soak.submitted.slice(i, i + 2000)) pipeline.hget(keys.task(id), "state");
      for (const [, state] of (await pipeline.exec()) ?? []) if (state !== "done" && state !== "failed" && state !== "cancelled") unfinished += 1;
    }
    if (unfinished === 0) break;
    soak.progress(`${unfinished} tasks unfinished`);
    await sleep(2000);
  }
  return unfinished;
}
