/**
 * Agents as the coordinator sees them, without a process or a worker each: registered through the
 * store, heartbeating on schedule through the store's heartbeat script, and holding tasks
 * submitted to them through the client. Nothing runs the tasks, so the fleet stays as loaded as
 * it was made: every agent holds the same backlog, which is a balanced fleet.
 */
import type { Redis } from "ioredis";
import { Client } from "@worksteal/client";
import { Store } from "@worksteal/store";

/** Registrations and submits in flight at once. */
const CONCURRENT_WRITES = 500;
/** Tasks per submitMany call. */
const SUBMIT_CHUNK = 2000;
/** The heartbeat period is cut into this many ticks: each beats its share of the fleet. */
const TICKS_PER_PERIOD = 20;

export function virtualAgentId(index: number): string {
  return `v${String(index).padStart(5, "0")}`;
}

/** Registers `count` agents (two slots each, no capability). */
export async function registerVirtualAgents(store: Store, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => virtualAgentId(i));
  for (let start = 0; start < ids.length; start += CONCURRENT_WRITES) {
    await Promise.all(ids.slice(start, start + CONCURRENT_WRITES).map((id) => store.registerAgent({ id, capabilities: [], concurrency: 2, priority: 0 })));
  }
  return ids;
}

/** Submits `tasks` tasks spread evenly over `agentIds`, each named to its agent. */
export async function queueTasks(redis: Redis, namespace: string, agentIds: readonly string[], tasks: number): Promise<void> {
  const client = new Client({ redis, config: { namespace } });
  for (let start = 0; start < tasks; start += SUBMIT_CHUNK) {
    const inputs = Array.from({ length: Math.min(SUBMIT_CHUNK, tasks - start) }, (_, i) => {
      const n = start + i;
      return { id: `bench-${n}`, type: "noop", agentId: agentIds[n % agentIds.length]! };
    });
    await client.submitMany(inputs);
  }
}

export interface Heartbeats {
  /** Heartbeats answered so far. */
  readonly sent: () => number;
  /** Heartbeats that failed so far. */
  readonly failed: () => number;
  stop(): Promise<void>;
}

/**
 * Each agent heartbeats once per `periodMs`, the fleet spread evenly over the period (as agents
 * started at random times would), each with a cpu and memory figure.
 */
export function startHeartbeats(store: Store, agentIds: readonly string[], periodMs: number): Heartbeats {
  let sent = 0;
  let failed = 0;
  let tick = 0;
  const inFlight = new Set<Promise<void>>();
  const perTick = Math.ceil(agentIds.length / TICKS_PER_PERIOD);
  const timer = setInterval(() => {
    const slice = agentIds.slice((tick % TICKS_PER_PERIOD) * perTick, ((tick % TICKS_PER_PERIOD) + 1) * perTick);
    tick += 1;
    const beat = Promise.all(
      slice.map((id) =>
        store.heartbeat(id, Math.random() * 100, 100 + Math.random() * 400).then(
          () => void (sent += 1),
          () => void (failed += 1),
        ),
      ),
    ).then(() => undefined);
    inFlight.add(beat);
    void beat.finally(() => inFlight.delete(beat));
  }, periodMs / TICKS_PER_PERIOD);
  return {
    sent: () => sent,
    failed: () => failed,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
}
