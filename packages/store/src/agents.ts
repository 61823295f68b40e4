import { AGENT_STATUSES, type AgentStatus, type AgentView, AgentProfileSchema, parseWorkload, type Workload } from "@worksteal/protocol";
import { type AgentLoad, readAgentLoads } from "./agent-loads.js";
import { forEachPage, inPages } from "./paging.js";
import { replyValues, timeToMs } from "./replies.js";
import type { Store } from "./store.js";

/** Liveness from the agent hash and the Redis clock: a stale heartbeat means dead, whatever else was marked. */
export function agentStatus(hash: Record<string, string>, now: number, agentTtlMs: number): AgentStatus {
  if (now - Number(hash.lastHeartbeat ?? 0) > agentTtlMs) return "dead";
  return hash.status === "draining" || hash.status === "drained" ? hash.status : "alive";
}

/**
 * The workload with the cpu and memory figures the heartbeat script writes into the agent hash,
 * when they are newer than those folded from `agent:metrics` events (which agents of earlier
 * versions append).
 */
function withHashMetrics(workload: Workload, agent: Record<string, string>): Workload {
  const metricsAt = Number(agent.metricsAt ?? 0);
  if (!(metricsAt > workload.metricsAt)) return workload;
  return { ...workload, cpu: Number(agent.cpu ?? 0) || 0, memoryMb: Number(agent.memoryMb ?? 0) || 0, metricsAt };
}

/** An agent absent from the load sets holds no task. */
const NO_LOAD = Object.freeze({ queued: 0, running: 0 });

/**
 * Every registered agent with its profile, liveness and workload, sorted by id: queued and running
 * from the fleet's load sets (exact), cpu and memory from its heartbeats, the rest folded. Read
 * AGENTS_PER_READ agents per round trip, each page's liveness on the Redis clock of its own read.
 */
export async function readAgents(store: Store, agentTtlMs: number): Promise<AgentView[]> {
  const ids = (await readAgentIds(store)).sort();
  if (ids.length === 0) return [];
  const loadsRead = readAgentLoads(store);
  return inPages(ids, async (page) => {
    const pipeline = store.redis.pipeline();
    for (const id of page) pipeline.hgetall(store.keys.agent(id)).hgetall(store.keys.workload(id));
    pipeline.time();
    const [replies, loads] = await Promise.all([pipeline.exec(), loadsRead]);
    const values = replyValues(replies, "the agents");
    const now = timeToMs(values[values.length - 1] as [string, string]);
    return page.flatMap((id, i): AgentView[] => {
      const agent = values[2 * i] as Record<string, string>;
      const workload = values[2 * i + 1] as Record<string, string>;
      const profile = AgentProfileSchema.safeParse({
        id,
        capabilities: JSON.parse(agent.capabilities ?? "[]") as unknown,
        concurrency: Number(agent.concurrency ?? 1),
        priority: Number(agent.priority ?? 0),
      });
      if (!profile.success) return [];
      const view: AgentView = {
        ...profile.data,
        status: agentStatus(agent, now, agentTtlMs),
        lastHeartbeat: Number(agent.lastHeartbeat ?? 0),
        workload: { ...withHashMetrics(parseWorkload(workload), agent), ...(loads.get(id) ?? NO_LOAD) },
      };
      return [view];
    });
  });
}

/** The fleet in figures, for a scrape: agents by status, the tasks they hold, and the busiest of them. */
export interface FleetTally {
  byStatus: Record<AgentStatus, number>;
  /** Tasks queued and running on registered agents. */
  queued: number;
  running: number;
  /** The registered agents holding the most tasks (queued and running), most first, ties by id. */
  busiest: Array<{ id: string } & AgentLoad>;
}

/**
 * `FleetTally` of every registered agent, reading only what it counts: each agent's status and
 * heartbeat (AGENTS_PER_READ per round trip, each page's liveness on the Redis clock of its own
 * read) and the load sets. Each page is counted and dropped, so no view of the whole fleet is
 * built: at 10,000 agents, readAgents' views and replies outlived the young generation.
 */
export async function tallyAgents(store: Store, agentTtlMs: number, busiestCount: number): Promise<FleetTally> {
  const ids = await readAgentIds(store);
  const loadsRead = readAgentLoads(store);
  const byStatus = Object.fromEntries(AGENT_STATUSES.map((status) => [status, 0])) as Record<AgentStatus, number>;
  // Both awaited together: a failed page must not leave the loads' read to fail unhandled.
  const [, loads] = await Promise.all([
    forEachPage(ids, async (page) => {
      const pipeline = store.redis.pipeline();
      for (const id of page) pipeline.hmget(store.keys.agent(id), "status", "lastHeartbeat");
      const values = replyValues(await pipeline.time().exec(), "the agents' status");
      const now = timeToMs(values[page.length] as [string, string]);
      for (let i = 0; i < page.length; i++) {
        const [status, lastHeartbeat] = values[i] as [string | null, string | null];
        byStatus[agentStatus({ status: status ?? "", lastHeartbeat: lastHeartbeat ?? "0" }, now, agentTtlMs)] += 1;
      }
    }),
    loadsRead,
  ]);
  const held = ids.map((id) => ({ id, ...(loads.get(id) ?? NO_LOAD) }));
  const total = (a: AgentLoad) => a.queued + a.running;
  return {
    byStatus,
    queued: held.reduce((n, a) => n + a.queued, 0),
    running: held.reduce((n, a) => n + a.running, 0),
    busiest: held.sort((a, b) => total(b) - total(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, busiestCount),
  };
}

/** Ids of every registered agent, in no order. */
export function readAgentIds(store: Store): Promise<string[]> {
  return store.redis.smembers(store.keys.agents);
}

/** Of `ids`, whether each is registered (same order). */
export async function areRegistered(store: Store, ids: readonly string[]): Promise<boolean[]> {
  if (ids.length === 0) return [];
  return (await store.redis.smismember(store.keys.agents, ...ids)).map((member) => member === 1);
}

/** The agent's capabilities; undefined when it is not registered. */
export async function readAgentCapabilities(store: Store, agentId: string): Promise<string[] | undefined> {
  const capabilities = await store.redis.hget(store.keys.agent(agentId), "capabilities");
  return capabilities === null ? undefined : (JSON.parse(capabilities) as string[]);
}

/**
 * The status field of the agent hash as last written (alive, draining, drained), without
 * liveness; null when the hash is gone. `agentStatus` tells a dead agent apart.
 */
export function readStatusField(store: Store, agentId: string): Promise<string | null> {
  return store.redis.hget(store.keys.agent(agentId), "status");
}

/** The agent's status as `agents` shows it (liveness included); undefined when it was never registered. */
export async function readAgentStatus(store: Store, agentId: string, agentTtlMs: number): Promise<AgentStatus | undefined> {
  // Keyed command first (a cluster routes a transaction by its first key); TIME last.
  const [hash, time] = replyValues(await store.redis.multi().hgetall(store.keys.agent(agentId)).time().exec(), `agent ${agentId}`) as [
    Record<string, string>,
    [string, string],
  ];
  if (Object.keys(hash).length === 0) return undefined;
  return agentStatus(hash, timeToMs(time), agentTtlMs);
}

/** The agent hash's status (null when the hash is gone) and how many tasks it still holds. */
export interface DrainProgress {
  status: string | null;
  queued: number;
  running: number;
}

/** Where a drain stands, read in one transaction. */
export async function readDrainProgress(store: Store, agentId: string): Promise<DrainProgress> {
  const k = store.keys;
  const [status, queued, running] = replyValues(
    await store.redis.multi().hget(k.agent(agentId), "status").scard(k.queuedOf(agentId)).scard(k.runningOf(agentId)).exec(),
    `agent ${agentId}`,
  ) as [string | null, number, number];
  return { status, queued, running };
}

/** Ids of the tasks queued on the agent: all of them, or a random sample of at most `sample`. */
export function readQueuedTaskIds(store: Store, agentId: string, sample?: number): Promise<string[]> {
  const key = store.keys.queuedOf(agentId);
  return sample === undefined ? store.redis.smembers(key) : store.redis.srandmember(key, sample);
}

/** Ids of the tasks the agent runs: its running set, which the task scripts keep exact. */
export function readRunningTaskIds(store: Store, agentId: string): Promise<string[]> {
  return store.redis.smembers(store.keys.runningOf(agentId));
}
