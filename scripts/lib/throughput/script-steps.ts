/**
 * What worksteal's own scripts cost per task, one lifecycle step at a time, with nothing else
 * running: the store's submit (its BullMQ job added inside the script), claim and finish scripts
 * called directly (no BullMQ worker), then the fold of the events they appended (as a replica folds: an EventFolder, task
 * events folded inside Redis, anything else read, validated and folded the slow way). Each step is measured alone, so its commands per task
 * are exact (INFO commandstats, Lua inner calls included), not split out of an overlapping run.
 */
import type { Redis } from "ioredis";
import { TaskSpecSchema } from "@worksteal/protocol";
import { pino } from "pino";
import { EventFolder } from "@worksteal/coordinator";
import { Store } from "@worksteal/store";
import { redisCost, sampleRedis } from "./cost.js";
import type { Step } from "./run.js";

const AGENTS = 4;
const PIPELINED = 500;
const FOLD_BATCH = 200;

export async function measureScriptSteps(redis: Redis, tasks: number, namespace: string): Promise<Step[]> {
  const store = new Store(redis, namespace, { agentTtlMs: 600_000 });
  const agents = Array.from({ length: AGENTS }, (_, i) => `s${i + 1}`);
  for (const id of agents) await store.registerAgent({ id, capabilities: [], concurrency: 50, priority: 0 });
  // The registrations' events, folded before measuring.
  await foldAll(store, redis);
  const ids = Array.from({ length: tasks }, (_, i) => `s${i}`);
  const ownerOf = (i: number) => agents[i % AGENTS]!;
  const steps: Step[] = [];
  const measure = async (step: string, work: () => Promise<unknown>) => {
    const before = await sampleRedis(redis);
    const startedCpu = process.cpuUsage();
    await work();
    const cpu = process.cpuUsage(startedCpu);
    const cost = redisCost(before, await sampleRedis(redis));
    const perTask = (n: number) => Number((n / tasks).toFixed(2));
    steps.push({
      step,
      commandsPerTask: perTask(cost.totalCalls),
      commandsByName: Object.fromEntries(
        [...cost.calls]
          .sort((a, b) => b[1] - a[1])
          .map(([name, calls]) => [name, perTask(calls)] as const)
          .filter(([, calls]) => calls >= 0.05),
      ),
      redisCpuUsPerTask: Math.round((cost.cpuSeconds * 1e6) / tasks),
      redisReadsPerTask: perTask(cost.reads),
      nodeCpuUsPerTask: Math.round((cpu.user + cpu.system) / tasks),
      nodeCpuUsPerTaskBy: { producer: Math.round((cpu.user + cpu.system) / tasks) },
    });
  };
  const inChunks = async (work: (i: number) => Promise<unknown>) => {
    for (let start = 0; start < tasks; start += PIPELINED) {
      await Promise.all(ids.slice(start, start + PIPELINED).map((_, j) => work(start + j)));
    }
  };
  await measure("submit script", () => inChunks((i) => store.submit(TaskSpecSchema.parse({ id: ids[i], type: "noop", payload: {} }), ownerOf(i))));
  await measure("claim script", () => inChunks((i) => store.claim(ids[i]!, ownerOf(i), 1)));
  await measure("finish script", () => inChunks((i) => store.finish(ids[i]!, ownerOf(i), 1, "completed", "null")));
  await measure("fold (the events they appended)", () => foldAll(store, redis));
  return steps;
}

/** Folds every entry after the fold cursor, in batches, as the replica holding the fold lease does. */
async function foldAll(store: Store, redis: Redis): Promise<void> {
  const folder = new EventFolder(store, redis, { replicaId: "bench", batchSize: FOLD_BATCH, leaseMs: 60_000 }, pino({ level: "silent" }));
  await folder.ensureCursor();
  // A call that folds nothing has found the stream's end (after waiting 1 ms for more).
  while ((await folder.foldNew(1)) > 0);
  await folder.release();
}
