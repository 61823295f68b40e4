/**
 * Churn soak: long life compressed. Its own Redis, one leading coordinator and a keeper agent
 * that never stop, and around them, every `--cycle-ms`: a new agent under a new id (the oldest
 * of the churned ones stops), two tasks placed by a client, now and then a follower replica
 * restarted under a new id and a replica that "crashes" after registering (holding the fold lease
 * when it was free). TTLs are
 * short (agent TTL 400 ms instead of 15 s, about 40 times faster), so 40 minutes stand for a day.
 *
 * Every `--sample` seconds it prints the namespace's key count (SCAN; also without the finished
 * BullMQ jobs, which BullMQ caps at 1000 per queue), registered agents, replicas and Redis's
 * used_memory. At the end it checks that after the warm-up (the first
 * third) the last third's median grew no more than 20% over the middle one's, and exits 1 if it
 * did.
 *
 * BullMQ's caps on finished jobs fill within the first two minutes; runs shorter than the default
 * may still see memory rise while they fill.
 *
 *   pnpm churn [--duration 300] [--cycle-ms 100] [--sample 5] [--json]
 */
import { Redis } from "ioredis";
import { z } from "zod";
import { Agent } from "@worksteal/agent";
import { Client } from "@worksteal/client";
import { Replica } from "@worksteal/coordinator";
import { type ConfigInput, type Keys, keysFor } from "@worksteal/protocol";
import { Store } from "@worksteal/store";
import { sleep, startRedisServer } from "@worksteal/testkit";
import { type ArgsOf, JSON_FLAG, option, runScript } from "./lib/args.js";
import { CHURN_SETTINGS } from "./lib/churn-settings.js";
import { printJson } from "./lib/report.js";
import { median } from "./lib/stats.js";

const COMMAND = {
  name: "churn",
  usage: "pnpm churn",
  summary:
    "The churn soak: agents and replicas restarted under new ids every cycle, with TTLs 40 times shorter; samples key count, registries and memory, and exits 1 unless they stay flat.",
  options: {
    duration: option(
      z.coerce
        .number()
        .int()
        .min(30)
        .max(7 * 24 * 3600),
      { default: "300", valueName: "S", help: "seconds of churn" },
    ),
    "cycle-ms": option(z.coerce.number().int().min(10).max(60_000), { default: "100", valueName: "MS", help: "one cycle: a new agent, two tasks" }),
    sample: option(z.coerce.number().min(1).max(3600), { default: "5", valueName: "S", help: "seconds between samples" }),
    json: JSON_FLAG,
  },
};
type Args = ArgsOf<typeof COMMAND.options>;

const NAMESPACE = "churn";
const LIVE_AGENTS = 3;
/** Allowed growth of the last third over the middle third (noise, not a leak): 20%, plus a few for small counts. */
const TOLERANCE = 1.2;
const SLACK = 5;

interface Sample {
  atS: number;
  cycles: number;
  keys: number;
  keysWithoutFinishedJobs: number;
  agents: number;
  replicas: number;
  usedMemory: number;
}

async function main(args: Args): Promise<number> {
  const started = Date.now();
  const progress = (line: string) => process.stderr.write(`[churn ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);
  const server = await startRedisServer({ appendOnly: false });
  const keys = keysFor(NAMESPACE);
  const config: ConfigInput = { redisUrl: server.url, namespace: NAMESPACE, logLevel: "silent", ...CHURN_SETTINGS };
  const redis = new Redis(server.url);
  const client = new Client({ config, redis });
  const newAgent = async (id: string) => {
    const agent = new Agent({ id, concurrency: 2, handler: () => ({ ok: true }), config });
    await agent.start();
    return agent;
  };
  const leader = new Replica({ id: "leader", config });
  const churned: Agent[] = [];
  let keeper: Agent | undefined;
  let follower: Replica | undefined;
  const samples: Sample[] = [];
  let cycle = 0;
  try {
    await leader.start();
    keeper = await newAgent("keeper");
    let nextSample = Date.now() + args.sample * 1000;
    while (Date.now() - started < args.duration * 1000) {
      const cycleStart = Date.now();
      churned.push(await newAgent(`c${cycle}`));
      if (churned.length > LIVE_AGENTS) await churned.shift()!.close();
      await Promise.all([0, 1].map((j) => client.submit({ id: `t${cycle}-${j}` })));
      if (cycle % 5 === 0) {
        // A replica that crashed right after registering (and taking the fold lease, when it was free).
        await redis.hset(keys.replicas, `ghost-${cycle}`, Date.now());
        await redis.hset(keys.replicaRoles, `ghost-${cycle}`, "follower");
        await new Store(redis, NAMESPACE).holdFoldLease(`ghost-${cycle}`, CHURN_SETTINGS.foldLeaseMs);
      }
      if (cycle % 10 === 0) {
        const previous = follower;
        follower = new Replica({ id: `follower-${cycle}`, lead: false, config });
        await follower.start();
        await previous?.stop();
      }
      cycle += 1;
      if (Date.now() >= nextSample) {
        const s = await sample(redis, keys, cycle, started);
        samples.push(s);
        nextSample += args.sample * 1000;
        progress(
          `${s.cycles} cycles: ${s.keys} keys (${s.keysWithoutFinishedJobs} without finished jobs), ${s.agents} agents, ${s.replicas} replicas, used_memory ${(s.usedMemory / 1048576).toFixed(1)} MB`,
        );
      }
      await sleep(Math.max(0, args["cycle-ms"] - (Date.now() - cycleStart)));
    }
  } finally {
    await Promise.all(churned.map((a) => a.close()));
    await keeper?.close();
    await follower?.stop();
    await leader.stop();
    await client.close();
    await redis.quit();
    await server.stop();
  }
  return report(args, cycle, samples);
}

async function sample(redis: Redis, keys: Keys, cycles: number, started: number): Promise<Sample> {
  let count = 0;
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `ws:{${NAMESPACE}}*`, "COUNT", 1000);
    count += batch.length;
    cursor = next;
  } while (cursor !== "0");
  const queues = [...(await redis.smembers(keys.agents)).map((id) => `agent.${id}`), "directives"];
  const pipeline = redis.pipeline();
  for (const q of queues) pipeline.zcard(`${keys.bullPrefix}:${q}:completed`).zcard(`${keys.bullPrefix}:${q}:failed`);
  const finished = ((await pipeline.exec()) ?? []).reduce((sum, [, n]) => sum + Number(n), 0);
  const memory = /used_memory:(\d+)/.exec(await redis.info("memory"))?.[1];
  return {
    atS: Math.round((Date.now() - started) / 1000),
    cycles,
    keys: count,
    keysWithoutFinishedJobs: count - finished,
    agents: await redis.scard(keys.agents),
    replicas: await redis.hlen(keys.replicas),
    usedMemory: Number(memory ?? 0),
  };
}

/**
 * Median of the last third against median of the middle third (the first third is warm-up):
 * a leak raises every sample, while a busy moment (removals waiting on a slow fold) raises a
 * few and passes.
 */
function growth(samples: readonly Sample[], pick: (s: Sample) => number, slack: number): { middle: number; last: number; flat: boolean } {
  const third = Math.floor(samples.length / 3);
  const middle = median(samples.slice(third, 2 * third).map(pick)) ?? 0;
  const last = median(samples.slice(2 * third).map(pick)) ?? 0;
  return { middle, last, flat: last <= middle * TOLERANCE + slack };
}

/** Prints the checks; 0 when every figure stayed flat. */
function report(args: Args, cycles: number, samples: readonly Sample[]): number {
  const checks = {
    keys: growth(samples, (s) => s.keysWithoutFinishedJobs, SLACK),
    agents: growth(samples, (s) => s.agents, SLACK),
    replicas: growth(samples, (s) => s.replicas, SLACK),
    usedMemory: growth(samples, (s) => s.usedMemory, 0),
  };
  const flat = samples.length >= 3 && Object.values(checks).every((c) => c.flat);
  if (args.json) printJson({ cycles, flat, checks, samples });
  else {
    const shown = (name: string, n: number) => (name === "usedMemory" ? `${(n / 1048576).toFixed(1)} MB` : String(n));
    const line = Object.entries(checks)
      .map(([name, c]) => `${name} ${shown(name, c.middle)} → ${shown(name, c.last)}${c.flat ? "" : " (GREW)"}`)
      .join(", ");
    console.log(`${cycles} cycles in ${args.duration}s: ${flat ? "flat" : "NOT flat"}: ${line}`);
  }
  return flat ? 0 : 1;
}

await runScript(COMMAND, main);
