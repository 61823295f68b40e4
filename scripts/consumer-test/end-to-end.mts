/**
 * The end-to-end part of the consumer test. It is copied into a fresh project outside the
 * workspace, where only the packed tarballs are installed, compiled there with tsc (module
 * nodenext) and run with node. It starts a private redis-server, then a coordinator replica, an
 * agent and a client from the packages' published entry points, runs one task through them, reads
 * the task back with the installed `worksteal` command and the agent through the compatibility
 * facade. The planner and the store run inside these; configuration and key names are called
 * directly.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Agent } from "@worksteal/agent";
import { Client } from "@worksteal/client";
import { WorkStealingCoordinator } from "@worksteal/compat";
import { loadConfig } from "@worksteal/config";
import { Replica } from "@worksteal/coordinator";
import { keysFor } from "@worksteal/protocol";

const REDIS_START_TIMEOUT_MS = 10_000;
const TASK_TIMEOUT_MS = 20_000;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no TCP address to take a port from");
  return address.port;
}

/** Resolves once redis-server says it accepts connections; rejects if it exits or stays silent. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready after ${REDIS_START_TIMEOUT_MS} ms:\n${output}`)), REDIS_START_TIMEOUT_MS);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  await ready;
  return child;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "worksteal-consumer-redis-"));
  const redisUrl = `redis://127.0.0.1:${await freePort()}`;
  const redis = await startRedis(Number(new URL(redisUrl).port), dir);
  const config = loadConfig({ env: {}, overrides: { redisUrl, namespace: "consumer", logLevel: "warn" } });
  console.log(`  loadConfig: namespace ${config.namespace}, whose agents are listed in ${keysFor(config.namespace).agents}`);
  const replica = new Replica({ id: "consumer-replica", config });
  const agent = new Agent({ id: "consumer-agent", concurrency: 1, handler: (task) => ({ echoed: task.payload }), config });
  const client = new Client({ config });
  try {
    await replica.start();
    await agent.start();
    const started = Date.now();
    await client.submit({ id: "consumer-task", type: "echo", payload: { n: 42 } });
    const record = await client.waitFor("consumer-task", { timeoutMs: TASK_TIMEOUT_MS });
    if (record.state !== "done") throw new Error(`the task ended ${record.state}: ${JSON.stringify(record)}`);
    console.log(`  end to end: a coordinator, an agent and a client ran a task: ${record.state} in ${Date.now() - started} ms`);

    const cli = join(process.cwd(), "node_modules", ".bin", "worksteal");
    const { stdout } = await promisify(execFile)(cli, ["task", "consumer-task", "--json", "--redis", redisUrl, "--namespace", config.namespace]);
    const read = JSON.parse(stdout) as { state?: unknown };
    if (read.state !== "done") throw new Error(`worksteal task printed ${stdout}`);
    console.log(`  end to end: the worksteal command read it back: ${read.state}`);

    const facade = new WorkStealingCoordinator({ config, replicaId: "consumer-facade" });
    await facade.initialize();
    try {
      const stats = await facade.getWorkloadStats();
      if (stats.aliveAgents !== 1) throw new Error(`the facade sees ${stats.aliveAgents} live agents: ${JSON.stringify(stats)}`);
      console.log(`  end to end: the compatibility facade sees ${stats.aliveAgents} live agent (${stats.agents.map((a) => a.id).join()})`);
    } finally {
      await facade.shutdown();
    }
  } finally {
    await client.close();
    await agent.close();
    await replica.stop();
    redis.kill("SIGTERM");
    if (redis.exitCode === null) await once(redis, "exit");
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
