import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "@worksteal/agent";
import type { Replica } from "@worksteal/coordinator";
import { eventually, sleep } from "@worksteal/testkit";
import { CHURN_SETTINGS } from "../scripts/lib/churn-settings.js";
import { type Harness, namespaceHarness } from "./helpers.js";

/**
 * Compressed churn: a day of agents and replicas restarting under new ids, squeezed into
 * seconds with short TTLs. What the namespace holds must stay bounded by what is alive, not
 * grow with the number of restarts.
 */
const CYCLES = 150;
const CYCLE_MS = 100;
/** Churned agents alive at once (besides the keeper that is never stopped). */
const LIVE_AGENTS = 3;
/** Keys one registered agent or replica may account for (its hashes, sets, BullMQ queue, tasks in flight)... */
const KEYS_PER_MEMBER = 15;
/** ...and keys the namespace holds whatever is registered (stream, lease, fence, directive queue). */
const KEYS_FIXED = 50;

let h: Harness;
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await h.close();
});

/**
 * Keys of the namespace (SCAN), less the hashes of finished BullMQ jobs: BullMQ keeps up to
 * 1000 completed and 1000 failed jobs per queue (a bound, which a compressed run does not reach),
 * so those fill up steadily here whatever else happens.
 */
async function keyCount(): Promise<number> {
  let count = 0;
  let cursor = "0";
  do {
    const [next, batch] = await h.redis.scan(cursor, "MATCH", `ws:{${h.namespace}}*`, "COUNT", 1000);
    count += batch.length;
    cursor = next;
  } while (cursor !== "0");
  const queues = [...(await h.redis.smembers(h.store.keys.agents)).map((id) => `agent.${id}`), "directives"];
  const pipeline = h.redis.pipeline();
  for (const q of queues) pipeline.zcard(`${h.store.keys.bullPrefix}:${q}:completed`).zcard(`${h.store.keys.bullPrefix}:${q}:failed`);
  const finished = ((await pipeline.exec()) ?? []).reduce((sum, [, n]) => sum + Number(n), 0);
  return count - finished;
}

async function startAgent(id: string): Promise<Agent> {
  const agent = new Agent({ id, concurrency: 2, handler: () => ({ ok: true }), config: { ...h.config } });
  await agent.start();
  agents.push(agent);
  return agent;
}

async function stopAgent(agent: Agent): Promise<void> {
  agents.splice(agents.indexOf(agent), 1);
  await agent.close();
}

describe("long life under churn", () => {
  it(`keeps key count and registries bounded through ${CYCLES} restarts of agents and replicas under new ids`, async () => {
    h = namespaceHarness("churn", CHURN_SETTINGS);
    await h.startReplica();
    await startAgent("keeper");
    const churned: Agent[] = [];
    let follower: Replica | undefined;
    const samples: Array<{ cycle: number; keys: number; agents: number; replicas: number }> = [];

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const started = Date.now();
      churned.push(await startAgent(`c${cycle}`));
      if (churned.length > LIVE_AGENTS) await stopAgent(churned.shift()!);
      await Promise.all([0, 1].map((j) => h.client.submit({ id: `t${cycle}-${j}` })));
      if (cycle % 5 === 0) {
        // A replica that crashed right after it registered (and took the fold lease, when it was free).
        const ghost = `ghost-${cycle}`;
        await h.redis.hset(h.store.keys.replicas, ghost, await h.store.now());
        await h.redis.hset(h.store.keys.replicaRoles, ghost, "follower");
        await h.store.holdFoldLease(ghost, CHURN_SETTINGS.foldLeaseMs);
      }
      if (cycle % 10 === 0) {
        const previous = follower;
        follower = await h.startReplica({ lead: false });
        await previous?.stop();
      }
      if (cycle % 10 === 9) {
        samples.push({
          cycle,
          keys: await keyCount(),
          agents: await h.redis.scard(h.store.keys.agents),
          replicas: await h.redis.hlen(h.store.keys.replicas),
        });
      }
      await sleep(Math.max(0, CYCLE_MS - (Date.now() - started)));
    }

    // What the namespace holds stays in proportion to what is registered: keys left behind by
    // removed agents or replicas would grow without them. (How many dead agents are still
    // registered at a moment depends on how fast the leader gets to them, on a busy machine
    // too slowly to keep pace with this churn; that they all go is checked below.)
    for (const sample of samples) {
      expect(sample.keys, JSON.stringify(sample)).toBeLessThanOrEqual(KEYS_PER_MEMBER * (sample.agents + sample.replicas) + KEYS_FIXED);
    }

    // Once churn stops, everything dead goes: only the living remain registered, and the key
    // count falls back below what it was a few cycles in.
    await Promise.all(churned.splice(0).map((a) => stopAgent(a)));
    const settle = { timeoutMs: 120_000, intervalMs: 250 };
    await eventually(async () => expect(await h.redis.smembers(h.store.keys.agents)).toEqual(["keeper"]), settle);
    await eventually(async () => expect((await h.redis.hkeys(h.store.keys.replicas)).length).toBeLessThanOrEqual(2), settle);
    await eventually(async () => expect(await keyCount()).toBeLessThanOrEqual(samples[0]!.keys), settle);
    const leftovers = [];
    let cursor = "0";
    do {
      const [next, batch] = await h.redis.scan(cursor, "MATCH", `ws:{${h.namespace}}*c[0-9]*`, "COUNT", 1000);
      leftovers.push(...batch.filter((k) => /:(agent:|workload:|q:agent\.)c\d+/.test(k)));
      cursor = next;
    } while (cursor !== "0");
    expect(leftovers).toEqual([]);
  }, 400_000);
});
