#!/usr/bin/env node
/**
 * Runs one coordinator replica with configuration from WORKSTEAL_* variables (and
 * WORKSTEAL_CONFIG, a JSON file). SIGTERM or SIGINT stops it gracefully. With WORKSTEAL_HTTP_PORT
 * set, it serves /healthz and /metrics. `--help` lists every variable.
 */
import type { Server } from "node:http";
import { loadConfig } from "@worksteal/config";
import { type Config, ConfigError } from "@worksteal/protocol";
import { boundHeapGrowth } from "./heap-growth.js";
import { httpAddress, startHttp } from "./http.js";
import { maskRedisUrl } from "@worksteal/store";
import { Replica } from "./replica.js";
import { coordinatorUsage, coordinatorVersion } from "./usage.js";

/** One line on stderr, then exit: for what an operator must fix before the replica can run. */
function fail(message: string, code: number): never {
  process.stderr.write(`worksteal-coordinator: ${message}\n`);
  process.exit(code);
}

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(coordinatorUsage());
  process.exit(0);
}
if (args.includes("--version")) {
  process.stdout.write(`${coordinatorVersion()}\n`);
  process.exit(0);
}
if (args.length > 0) fail(`unexpected argument '${args[0]}': settings come from the environment (see --help)`, 2);

boundHeapGrowth();

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) fail(error.message, 2);
  throw error;
}

// The port is bound before the replica joins: a port in use must not leave a registered replica
// behind. Until the replica has started, /healthz answers 503.
let serving: Replica | undefined;
let http: Server | undefined;
if (config.httpPort > 0) {
  try {
    http = await startHttp(() => serving, config.httpPort, config.httpHost);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const where = `${config.httpHost}:${config.httpPort}`;
    fail(code === "EADDRINUSE" ? `HTTP port ${where} is already in use (WORKSTEAL_HTTP_PORT)` : `cannot serve HTTP on ${where}: ${message}`, 2);
  }
  const dashboard = config.dashboard ? { dashboard: `${httpAddress(http)}/dashboard/` } : {};
  process.stdout.write(`${JSON.stringify({ msg: "http listening", url: httpAddress(http), ...dashboard })}\n`);
} else if (config.dashboard) {
  process.stderr.write("worksteal-coordinator: the dashboard is on but httpPort is 0: it is not served (set WORKSTEAL_HTTP_PORT)\n");
}

const replica = new Replica({ id: process.env.WORKSTEAL_REPLICA_ID || undefined, config });
let stopping = false;
const stop = () => {
  stopping = true;
  http?.close();
  void replica.stop().then(() => process.exit(0));
};
// Also while start() waits for Redis: stop() then ends the attempt.
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
try {
  await replica.start();
  serving = replica;
} catch (error) {
  if (!stopping) {
    const where = `Redis ${maskRedisUrl(config.redisUrl)}, namespace ${config.namespace}`;
    process.stderr.write(`worksteal-coordinator: could not start (${where}): ${(error as Error).message}\n`);
    http?.close();
    await replica.stop();
    process.exit(1);
  }
}
