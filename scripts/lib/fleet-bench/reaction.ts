/**
 * Stealing's reaction time: with four idle agent processes and one coordinator, a burst of tasks
 * is submitted to one agent; the reaction is the time from just before the submit to the start
 * of the first task of the burst on another agent (both on the Redis clock: the submit reads
 * TIME first, the claim script stamps startedAt). Each trial waits for the burst to finish.
 */
import { loadavg } from "node:os";
import { Client } from "@worksteal/client";
import { keysFor } from "@worksteal/protocol";
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

export interface ReactionFigures {
  stealIntervalMs: number;
  trials: number;
  /** Milliseconds from submit to the first task of the burst running elsewhere, per trial. */
  reactionsMs: number[];
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
  try {
    for (let trial = 0; trial < trials; trial++) {
      const ids = Array.from({ length: BURST }, (_, i) => `burst-${trial}-${i}`);
      const victim = AGENTS[trial % AGENTS.length]!.id;
      const submittedAt = await redisClock(fleet.redis);
      await client.submitMany(ids.map((id) => ({ id, agentId: victim, payload: { ms: TASK_MS } })));
      let reaction: number | undefined;
      const deadline = Date.now() + TRIAL_TIMEOUT_MS;
      for (;;) {
        const pipeline = fleet.redis.pipeline();
        for (const id of ids) pipeline.hmget(keys.task(id), "owner", "state", "startedAt");
        const records = ((await pipeline.exec()) ?? []).map(([, value]) => value as Array<string | null>);
        if (reaction === undefined) {
          const elsewhere = records.flatMap(([owner, , startedAt]) => (owner !== victim && startedAt !== null ? [Number(startedAt)] : []));
          if (elsewhere.length > 0) reaction = Math.min(...elsewhere) - submittedAt;
        }
        if (records.every(([, state]) => state === "done")) break;
        if (Date.now() > deadline) throw new Error(`burst ${trial} did not finish within ${TRIAL_TIMEOUT_MS} ms`);
        await sleep(POLL_MS);
      }
      if (reaction === undefined) throw new Error(`burst ${trial}: no task ran on another agent than ${victim}`);
      reactionsMs.push(reaction);
      progress(`stealInterval ${stealIntervalMs} ms, trial ${trial + 1}/${trials}: ${reaction} ms`);
    }
  } finally {
    await client.close().catch(() => undefined);
    await fleet.stop();
  }
  return { stealIntervalMs, trials, reactionsMs, p50Ms: median(reactionsMs), p90Ms: quantile(reactionsMs, 0.9), load: loadavg()[0]! };
}
