/**
 * bench:fold's backlog: an event stream written by the task scripts themselves, as agents and
 * clients write it, so that every entry is one the fold applies (task events carry the marks
 * their scripts left in the task records; a forged one would be dead-lettered instead). Each
 * task is submitted, claimed and finished on one of the agents: one event, its task:completed
 * (a submit appends task:assigned only when its agent's backlog is then a power of two: here
 * about 7 per agent per batch of 500, some 560 per 10,000 tasks; a claim appends nothing); every agent
 * heartbeats (agent:heartbeat, agent:metrics) once per HEARTBEAT_EVERY tasks, a little more often
 * than a real fleet running short tasks.
 */
import type { TaskSpec } from "@worksteal/protocol";
import type { Store } from "@worksteal/store";

/** Tasks written per round trip of each script. */
const BATCH = 500;
/** Tasks between two heartbeats of every agent. */
const HEARTBEAT_EVERY = 1000;
/** Task types, so that the fold keeps per-type durations as it does in production. */
const TASK_TYPES = ["render", "resize", "encode", "index"];

/** Appends about `events` entries (whole tasks: one each, and the few above); returns the stream's length. */
export async function fillEventStream(store: Store, events: number, agentIds: readonly string[], onProgress: (written: number) => void): Promise<number> {
  for (const id of agentIds) await store.registerAgent({ id, capabilities: [], concurrency: 50, priority: 0 });
  const tasks = events;
  for (let start = 0; start < tasks; start += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, tasks - start) }, (_, i) => {
      const n = start + i;
      const task: TaskSpec = { id: `f${n}`, type: TASK_TYPES[n % TASK_TYPES.length]!, payload: { n }, requiredCapabilities: [], priority: 0, maxAttempts: 3 };
      return { task, owner: agentIds[n % agentIds.length]! };
    });
    for (const result of await store.submitMany(batch)) if (result instanceof Error) throw result;
    // Concurrent calls on one connection are pipelined by ioredis: one round trip per batch.
    await Promise.all(batch.map(({ task, owner }) => store.claim(task.id, owner, 1)));
    await Promise.all(batch.map(({ task, owner }) => store.finish(task.id, owner, 1, "completed", "null")));
    if (Math.floor((start + BATCH) / HEARTBEAT_EVERY) > Math.floor(start / HEARTBEAT_EVERY)) {
      await Promise.all(agentIds.map((id) => store.heartbeat(id, 20 + (start % 50), 180)));
    }
    onProgress(await store.redis.xlen(store.keys.events));
  }
  return store.redis.xlen(store.keys.events);
}
