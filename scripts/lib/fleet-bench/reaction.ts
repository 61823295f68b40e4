/**
 * Stealing's reaction time: with four idle agent processes and one coordinator, a burst of tasks
 * is submitted to one agent; the reaction is the time from just before the submit to the start
 * of the first task of the burst on another agent (both on the Redis clock: the submit reads
 * TIME first, the claim script stamps startedAt). Each trial waits for the burst to finish.
 */
import { loadavg } from "node:os";
import { Client } from "@worksteal/client";
import type { Redis } from "ioredis";
import { DIRECTIVE_QUEUE, keysFor } from "@worksteal/protocol";
import { sleep } from "@worksteal/testkit";
import { type AgentSpec, startFleet } from "../fleet.js";
import { redisClock } from "../readiness.js";
import { median, quantile } from "../stats.js";

const AGENTS: AgentSpec[] = ["r1", "r2", "r3", "r4"].map((id) => ({ id, capabilities: [], concurrency: 2, speed: 1 }));
/** Tasks per burst, and how long each runs: the victim's two slots leave most of them waiting. */
const BURST = 20;
const TASK_MS = 200;
/** A trial whose burst has not finished by then fails the bench. */
const TRIAL_TIMEOUT_MS = 60_000;
/** How often the burst's records are read while waiting. */
const POLL_MS = 5;

/**
 * Where one trial's reaction went, ms from the submit: the directive planned (its createdAt, on
 * the Redis clock), taken by an executor (BullMQ's processedOn, the coordinator's clock: the same
 * machine's), the task moved (its `task:stolen` event), and started on its new agent.
 */
export interface ReactionSteps {
  plannedMs: number | undefined;
  pickedUpMs: number | undefined;
  movedMs: number | undefined;
  startedMs: number;
}

export interface ReactionFigures {
  stealIntervalMs: number;
  trials: number;
  /** Milliseconds from submit to the first task of the burst running elsewhere, per trial. */
  reactionsMs: number[];
  /** Per trial, where the time went. */
  steps: ReactionSteps[];
  /** Medians of the steps over the trials. */
  medianSteps: Omit<ReactionSteps, "startedMs"> & { startedMs: number | undefined };
  p50Ms: number | undefined;
  p90Ms: number | undefined;
  load: number;
}

export async function measureReaction(stealIntervalMs: number, trials: number, progress: (line: string) => void): Promise<ReactionFigures> {
  const namespace = `reaction-${stealIntervalMs}`;
  const fleet = await startFleet({
    namespace,
    agents: AGENTS,
    coordinators: 1,
    privateRedis: true,
    env: { WORKSTEAL_STEAL_INTERVAL: String(stealIntervalMs) },
    onProgress: progress,
  });
  const keys = keysFor(namespace);
  const client = new Client({ redis: fleet.redis, config: { namespace } });
  const reactionsMs: number[] = [];
  const steps: ReactionSteps[] = [];
  try {
    for (let trial = 0; trial < trials; trial++) {
      const ids = Array.from({ length: BURST }, (_, i) => `burst-${trial}-${i}`);
      const victim = AGENTS[trial % AGENTS.length]!.id;
      const submittedAt = await redisClock(fleet.redis);
      await client.submitMany(ids.map((id) => ({ id, agentId: victim, payload: { ms: TASK_MS } })));
      let reaction: number | undefined;
      let firstMoved: string | undefined;
      const deadline = Date.now() + TRIAL_TIMEOUT_MS;
      for (;;) {
        const pipeline = fleet.redis.pipeline();
        for (const id of ids) pipeline.hmget(keys.task(id), "owner", "state", "startedAt");
        const records = ((await pipeline.exec()) ?? []).map(([, value]) => value as Array<string | null>);
        if (reaction === undefined) {
          const elsewhere = records.flatMap(([owner, , startedAt], i) =>
            owner !== victim && startedAt !== null ? [{ id: ids[i]!, at: Number(startedAt) }] : [],
          );
          if (elsewhere.length > 0) {
            const first = elsewhere.reduce((a, b) => (b.at < a.at ? b : a));
            reaction = first.at - submittedAt;
            firstMoved = first.id;
          }
        }
        if (records.every(([, state]) => state === "done")) break;
        if (Date.now() > deadline) throw new Error(`burst ${trial} did not finish within ${TRIAL_TIMEOUT_MS} ms`);
        await sleep(POLL_MS);
      }
      if (reaction === undefined) throw new Error(`burst ${trial}: no task ran on another agent than ${victim}`);
      reactionsMs.push(reaction);
      const step = await stepsOf(fleet.redis, namespace, firstMoved!, submittedAt, reaction);
      steps.push(step);
      progress(
        `stealInterval ${stealIntervalMs} ms, trial ${trial + 1}/${trials}: ${reaction} ms (planned ${step.plannedMs ?? "-"}, picked up ${step.pickedUpMs ?? "-"}, moved ${step.movedMs ?? "-"})`,
      );
    }
  } finally {
    await client.close().catch(() => undefined);
    await fleet.stop();
  }
  const medianOf = (pick: (s: ReactionSteps) => number | undefined) => median(steps.flatMap((s) => pick(s) ?? []));
  return {
    stealIntervalMs,
    trials,
    reactionsMs,
    steps,
    medianSteps: {
      plannedMs: medianOf((s) => s.plannedMs),
      pickedUpMs: medianOf((s) => s.pickedUpMs),
      movedMs: medianOf((s) => s.movedMs),
      startedMs: medianOf((s) => s.startedMs),
    },
    p50Ms: median(reactionsMs),
    p90Ms: quantile(reactionsMs, 0.9),
    load: loadavg()[0]!,
  };
}

/** The steps of the move of `taskId`, from its `task:stolen` event and its directive's job. */
async function stepsOf(redis: Redis, namespace: string, taskId: string, submittedAt: number, startedMs: number): Promise<ReactionSteps> {
  const keys = keysFor(namespace);
  // The burst's events are among the newest few hundred.
  const entries = await redis.xrevrange(keys.events, "+", "-", "COUNT", 500);
  const stolen = entries
    .map(([, fields]) => JSON.parse(fields[fields.indexOf("event") + 1] ?? "{}") as { kind?: string; taskId?: string; at?: number; directiveId?: string })
    .find((e) => e.kind === "task:stolen" && e.taskId === taskId);
  if (!stolen?.directiveId) return { plannedMs: undefined, pickedUpMs: undefined, movedMs: undefined, startedMs };
  const [data, processedOn] = await redis.hmget(`${keys.bullPrefix}:${DIRECTIVE_QUEUE}:${stolen.directiveId}`, "data", "processedOn");
  const createdAt = data === null || data === undefined ? undefined : (JSON.parse(data) as { createdAt?: number }).createdAt;
  return {
    plannedMs: createdAt === undefined ? undefined : createdAt - submittedAt,
    pickedUpMs: processedOn === null || processedOn === undefined ? undefined : Number(processedOn) - submittedAt,
    movedMs: stolen.at === undefined ? undefined : stolen.at - submittedAt,
    startedMs,
  };
}
