#!/usr/bin/env node
/**
 * Runs one coordinator replica with configuration from WORKSTEAL_* variables (and
 * WORKSTEAL_CONFIG, a JSON file). SIGTERM or SIGINT stops it gracefully. With WORKSTEAL_HTTP_PORT
 * set, it serves /healthz and /metrics.
 */
import type { Server } from "node:http";
import { ConfigError } from "@worksteal/protocol";
import { httpAddress, startHttp } from "./http.js";
import { Replica } from "./replica.js";

let replica: Replica;
try {
  replica = new Replica({ id: process.env.WORKSTEAL_REPLICA_ID || undefined });
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`worksteal-coordinator: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
await replica.start();
let http: Server | undefined;
if (replica.config.httpPort > 0) {
  http = await startHttp(replica, replica.config.httpPort, replica.config.httpHost);
  process.stdout.write(`${JSON.stringify({ msg: "http listening", url: httpAddress(http) })}\n`);
}
const stop = () => {
  http?.close();
  void replica.stop().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
