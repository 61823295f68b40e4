// Test fixtures and fast-check arbitraries (excluded from the build).
import fc from "fast-check";
import { type AgentStatus, type AgentView, EMPTY_WORKLOAD, type StrategyName, type Workload } from "@worksteal/protocol";
import type { PlannerConfig, PlannerSnapshot, TaskSummary } from "./types.js";

export type AgentInit = Partial<Omit<AgentView, "workload">> & { workload?: Partial<Workload> };

export function agent(id: string, init: AgentInit = {}): AgentView {
  const { workload, ...profile } = init;
  return {
    id,
    capabilities: [],
    concurrency: 1,
    priority: 0,
    status: "alive",
    lastHeartbeat: 0,
    ...profile,
    workload: { ...EMPTY_WORKLOAD, ...workload },
  };
}

export function tasks(prefix: string, n: number, init: Partial<TaskSummary> = {}): TaskSummary[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, type: "t", requiredCapabilities: [], ...init }));
}

export function config(strategy: StrategyName, overrides: Partial<PlannerConfig> = {}): PlannerConfig {
  return { enabled: true, strategy, stealThreshold: 2, maxStealBatch: 10, minTasksToSteal: 2, ...overrides };
}

export function snapshot(agents: readonly AgentView[], tails: Record<string, TaskSummary[]> = {}, extra: Partial<PlannerSnapshot> = {}): PlannerSnapshot {
  return { agents, tails, round: 1, ...extra };
}

const CAPS = ["cpu", "gpu", "io"] as const;
const TYPES = ["a", "b", "c"] as const;
const capsArb = fc.subarray([...CAPS]);

/** Durations of 0 ms now and then: tasks not worth a move on their own. */
const msArb = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5000 }));

const taskArb = fc.record(
  {
    type: fc.constantFrom(...TYPES),
    requiredCapabilities: fc.subarray([...CAPS], { maxLength: 2 }),
    estimatedDurationMs: msArb,
    priority: fc.constantFrom(0, 0, 500, 1000),
  },
  { requiredKeys: ["type", "requiredCapabilities"] },
);

const agentArb = fc.record({
  capabilities: capsArb,
  concurrency: fc.integer({ min: 1, max: 4 }),
  priority: fc.integer({ min: 0, max: 100 }),
  status: fc.constantFrom<AgentStatus>("alive", "alive", "alive", "alive", "draining", "dead"),
  queued: fc.integer({ min: 0, max: 20 }),
  running: fc.integer({ min: 0, max: 4 }),
  durationCount: fc.integer({ min: 0, max: 5 }),
  avgMs: fc.integer({ min: 1, max: 5000 }),
  cpu: fc.integer({ min: 0, max: 100 }),
  tail: fc.array(taskArb, { maxLength: 12 }),
  /** Sometimes the folded counter lags behind the queue. */
  lag: fc.boolean(),
});

/** Up to 8 agents with random profiles, loads and queue tails; task ids unique. */
/** Snapshots of minAgents to maxAgents agents. */
export const snapshotsOf = (minAgents: number, maxAgents: number): fc.Arbitrary<PlannerSnapshot> =>
  fc
    .record({
      agents: fc.array(agentArb, { minLength: minAgents, maxLength: maxAgents }),
      durationsByType: fc.option(fc.dictionary(fc.constantFrom(...TYPES), msArb), { nil: undefined }),
      durationCountsByType: fc.option(fc.dictionary(fc.constantFrom(...TYPES), fc.nat(20)), { nil: undefined }),
      round: fc.nat(1000),
    })
    .map(({ agents, durationsByType, durationCountsByType, round }) => {
      const tails: Record<string, TaskSummary[]> = {};
      const views = agents.map((a, i) => {
        const id = `ag${i}`;
        const tail = a.tail.slice(0, a.lag ? a.tail.length : Math.min(a.tail.length, a.queued));
        tails[id] = tail.map((t, j) => ({ ...t, id: `${id}-t${j}` }));
        return agent(id, {
          capabilities: a.capabilities,
          concurrency: a.concurrency,
          priority: a.priority,
          status: a.status,
          workload: {
            queued: a.lag ? Math.min(a.queued, tail.length) : Math.max(a.queued, tail.length),
            running: Math.min(a.running, a.concurrency),
            durationCount: a.durationCount,
            durationSumMs: a.durationCount * a.avgMs,
            cpu: a.cpu,
          },
        });
      });
      return { agents: views, tails, round, ...(durationsByType ? { durationsByType } : {}), ...(durationCountsByType ? { durationCountsByType } : {}) };
    });

export const snapshotArb = snapshotsOf(1, 8);

export const configArb = (strategy: StrategyName) =>
  fc.record({
    enabled: fc.constant(true),
    strategy: fc.constant(strategy),
    stealThreshold: fc.integer({ min: 1, max: 5 }),
    maxStealBatch: fc.integer({ min: 1, max: 10 }),
    minTasksToSteal: fc.integer({ min: 1, max: 3 }),
  });

/**
 * The balanced strategy's drain model (whole ms), written out independently for the properties:
 * work at speed 1 over its capacity: its slots, or once an alive agent's speed is known (its
 * capability group's average duration over its own, both from agents with 5 completions or more,
 * at least two in the group; within 1/4–4) and neither within an eighth power of two of 1 nor
 * within two standard errors of it (1/√completions in log terms), slots × speed in quarter
 * powers of two.
 */
export function drainTimes(s: PlannerSnapshot, defaultMs = 1000): Map<string, number> {
  let sum = 0;
  let count = 0;
  for (const a of s.agents) {
    sum += a.workload.durationSumMs;
    count += a.workload.durationCount;
  }
  const fleet = count > 0 ? sum / count : defaultMs;
  const groupOf = (a: AgentView) => [...a.capabilities].sort().join(",");
  const known = (a: AgentView) => a.status === "alive" && a.workload.durationCount >= 5 && a.workload.durationSumMs > 0;
  const groups = new Map<string, { sum: number; count: number; agents: number }>();
  for (const a of s.agents.filter(known)) {
    const g = groups.get(groupOf(a)) ?? { sum: 0, count: 0, agents: 0 };
    groups.set(groupOf(a), { sum: g.sum + a.workload.durationSumMs, count: g.count + a.workload.durationCount, agents: g.agents + 1 });
  }
  const capacityOf = (a: AgentView) => {
    const slots = Math.max(1, a.concurrency);
    const g = groups.get(groupOf(a));
    if (!known(a) || !g || g.agents < 2) return slots;
    const speed = Math.min(4, Math.max(0.25, g.sum / g.count / (a.workload.durationSumMs / a.workload.durationCount)));
    // Within an eighth power of two of 1, or within two standard errors (1/√n in log terms) of it: speed 1.
    if (Math.abs(Math.log2(speed)) < 1 / 8 || Math.abs(Math.log(speed)) < 2 / Math.sqrt(a.workload.durationCount)) return slots;
    return 2 ** (Math.round(4 * Math.log2(slots * speed)) / 4);
  };
  const out = new Map<string, number>();
  for (const a of s.agents) {
    const tail = s.tails[a.id] ?? [];
    const capacity = capacityOf(a);
    const own = Math.round(
      ((a.workload.durationCount > 0 ? a.workload.durationSumMs / a.workload.durationCount : fleet) * capacity) / Math.max(1, a.concurrency),
    );
    const queued = Math.max(a.workload.queued, tail.length);
    let work = (queued - tail.length + a.workload.running) * own;
    for (const t of tail) {
      const average = s.durationsByType?.[t.type];
      const count = s.durationCountsByType?.[t.type];
      const estimate = t.estimatedDurationMs;
      // The estimate is a prior worth 3 completions of the type's average, when their count is known.
      const ms =
        average !== undefined && estimate !== undefined && count !== undefined
          ? (3 * estimate + count * average) / (3 + count)
          : (average ?? estimate ?? fleet);
      work += Math.round(ms);
    }
    out.set(a.id, work / capacity);
  }
  return out;
}
