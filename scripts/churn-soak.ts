/**
 * Churn soak: long life compressed. Its own Redis, one leading coordinator and a keeper agent
 * that never stop, and around them, every `--cycle-ms`: a new agent under a new id (the oldest
 * of the churned ones stops), two tasks placed by a client, now and then a follower replica
 * restarted under a new id and a replica that "crashes" after reading a few events. TTLs are
 * short (agent TTL 400 ms instead of 15 s, about 40 times faster), so 40 minutes stand for a day.
 *
 * Every `--sample` seconds it prints the namespace's key count (SCAN; also without the finished
 * BullMQ jobs, which BullMQ caps at 1000 per queue), registered agents, replicas, folding
 * consumers and Redis's used_memory. At the end it checks that after the warm-up (the first
 * third) the last third's median grew no more than 20% over the middle one's, and exits 1 if it
 * did.
 *
 * BullMQ's caps on finished jobs fill within the first two minutes; runs shorter than the default
 * may still see memory rise while they fill.
 *
 *   pnpm churn [--duration 300] [--cycle-ms 100] [--sample 5] [--json]
 */
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { z } from "zod";
import { Agent } from "@worksteal/agent";
import { Client } from "@worksteal/client";
import { Replica } from "@worksteal/coordinator";
import { type ConfigInput, FOLD_GROUP, keysFor } from "@worksteal/protocol";
import { sleep, startRedisServer } from "@worksteal/testkit";
import { CHURN_SETTINGS } from "./lib/churn-settings.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "300" },
    "cycle-ms": { type: "string", default: "100" },
    sample: { type: "string", default: "5" },
    json: { type: "boolean", default: false },
  },
});
const parsed = z
  .object({
    duration: z.coerce
      .number()
      .int()
      .min(30)
      .max(7 * 24 * 3600),
    "cycle-ms": z.coerce.number().int().min(10).max(60_000),
    sample: z.coerce.number().min(1).max(3600),
    json: z.boolean(),
  })
  .safeParse(values);
if (!parsed.success) {
  console.error(`churn: ${parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(2);
}
const args = parsed.data;
const started = Date.now();
const progress = (line: string) => process.stderr.write(`[churn ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);

const LIVE_AGENTS = 3;
/** Allowed growth of the last third over the middle third (noise, not a leak): 20%, plus a few for small counts. */
const TOLERANCE = 1.2;
const SLACK = 5;

const server = await startRedisServer({ appendOnly: false });
const namespace = "churn";
const keys = keysFor(namespace);
const config: ConfigInput = {
  redisUrl: server.url,
  namespace,
  logLevel: "silent",
  ...CHURN_SETTINGS,
};
const redis = new Redis(server.url);
const client = new Client({ config, redis });

interface Sample {
  atS: number;
  cycles: number;
  keys: number;
  keysWithoutFinishedJobs: number;
  agents: number;
  replicas: number;
  consumers: number;
  usedMemory: number;
}

async function sample(cycles: number): Promise<Sample> {
  let count = 0;
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `ws:{${namespace}}*`, "COUNT", 1000);
    count += batch.length;
    cursor = next;
  } while (cursor !== "0");
  const queues = [...(await redis.smembers(keys.agents)).map((id) => `agent.${id}`), "directives"];
  const pipeline = redis.pipeline();
  for (const q of queues) pipeline.zcard(`${keys.bullPrefix}:${q}:completed`).zcard(`${keys.bullPrefix}:${q}:failed`);
  const finished = ((await pipeline.exec()) ?? []).reduce((sum, [, n]) => sum + Number(n), 0);
  const consumers = (await redis.xinfo("CONSUMERS", keys.events, FOLD_GROUP).catch(() => [])) as unknown[];
  const memory = /used_memory:(\d+)/.exec(await redis.info("memory"))?.[1];
  return {
    atS: Math.round((Date.now() - started) / 1000),
    cycles,
    keys: count,
    keysWithoutFinishedJobs: count - finished,
    agents: await redis.scard(keys.agents),
    replicas: await redis.hlen(keys.replicas),
    consumers: consumers.length,
    usedMemory: Number(memory ?? 0),
  };
}

const leader = new Replica({ id: "leader", config });
await leader.start();
const newAgent = async (id: string) => {
  const agent = new Agent({ id, concurrency: 2, handler: async () => ({ ok: true }), config });
  await agent.start();
  return agent;
};
const keeper = await newAgent("keeper");
const churned: Agent[] = [];
let follower: Replica | undefined;
const samples: Sample[] = [];
let cycle = 0;
let nextSample = Date.now() + args.sample * 1000;
try {
  while (Date.now() - started < args.duration * 1000) {
    const cycleStart = Date.now();
    churned.push(await newAgent(`c${cycle}`));
    if (churned.length > LIVE_AGENTS) await churned.shift()!.close();
    await Promise.all([0, 1].map((j) => client.submit({ id: `t${cycle}-${j}` })));
    if (cycle % 5 === 0) {
      // A replica that crashed right after registering and reading a few events.
      await redis.hset(keys.replicas, `ghost-${cycle}`, Date.now());
      await redis.hset(keys.replicaRoles, `ghost-${cycle}`, "follower");
      await redis.xreadgroup("GROUP", FOLD_GROUP, `ghost-${cycle}`, "COUNT", 2, "STREAMS", keys.events, ">");
    }
    if (cycle % 10 === 0) {
      const previous = follower;
      follower = new Replica({ id: `follower-${cycle}`, lead: false, config });
      await follower.start();
      await previous?.stop();
    }
    cycle += 1;
    if (Date.now() >= nextSample) {
      const s = await sample(cycle);
      samples.push(s);
      nextSample += args.sample * 1000;
      progress(
        `${s.cycles} cycles: ${s.keys} keys (${s.keysWithoutFinishedJobs} without finished jobs), ${s.agents} agents, ${s.replicas} replicas, ${s.consumers} consumers, used_memory ${(s.usedMemory / 1048576).toFixed(1)} MB`,
      );
    }
    await sleep(Math.max(0, args["cycle-ms"] - (Date.now() - cycleStart)));
  }
} finally {
  await Promise.all(churned.map((a) => a.close()));
  await keeper.close();
  await follower?.stop();
  await leader.stop();
  await client.close();
  await redis.quit();
  await server.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * Median of the last third against median of the middle third (the first third is warm-up):
 * a leak raises every sample, while a busy moment (removals waiting on a slow fold) raises a
 * few and passes.
 */
function growth(pick: (s: Sample) => number, slack: number): { middle: number; last: number; flat: boolean } {
  const third = Math.floor(samples.length / 3);
  const middle = median(samples.slice(third, 2 * third).map(pick));
  const last = median(samples.slice(2 * third).map(pick));
  return { middle, last, flat: last <= middle * TOLERANCE + slack };
}
const checks = {
  keys: growth((s) => s.keysWithoutFinishedJobs, SLACK),
  agents: growth((s) => s.agents, SLACK),
  replicas: growth((s) => s.replicas, SLACK),
  consumers: growth((s) => s.consumers, SLACK),
  usedMemory: growth((s) => s.usedMemory, 0),
};
const flat = samples.length >= 3 && Object.values(checks).every((c) => c.flat);
if (args.json) {
  console.log(JSON.stringify({ cycles: cycle, flat, checks, samples }));
} else {
  const shown = (name: string, n: number) => (name === "usedMemory" ? `${(n / 1048576).toFixed(1)} MB` : String(n));
  const line = Object.entries(checks)
    .map(([name, c]) => `${name} ${shown(name, c.middle)} → ${shown(name, c.last)}${c.flat ? "" : " (GREW)"}`)
    .join(", ");
  console.log(`${cycle} cycles in ${args.duration}s: ${flat ? "flat" : "NOT flat"}: ${line}`);
}
process.exit(flat ? 0 : 1);
