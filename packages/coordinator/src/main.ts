#!/usr/bin/env node
/**
 * Runs one coordinator replica with configuration from WORKSTEAL_* variables (and
 * WORKSTEAL_CONFIG, a JSON file). SIGTERM or SIGINT stops it gracefully.
 */
import { ConfigError } from "@worksteal/protocol";
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
const stop = () => {
  void replica.stop().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
