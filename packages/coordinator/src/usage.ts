import { readFileSync } from "node:fs";
import { configSettings } from "@worksteal/protocol";

/** This package's version, from its package.json (one level up from src/ and from dist/). */
export function coordinatorVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

/** `worksteal-coordinator --help`: what it is and every variable it reads, from the config schema. */
export function coordinatorUsage(): string {
  const settings = configSettings();
  const width = Math.max(...settings.map((s) => s.env.length), "WORKSTEAL_REPLICA_ID".length);
  const row = (name: string, text: string) => `  ${name.padEnd(width)}  ${text}`;
  return `Usage: worksteal-coordinator [--help | --version]

Runs one worksteal coordinator replica: it folds agents' events into workloads, executes steal
directives and, while it holds the leader lease, plans steals, places waiting tasks and reaps
dead agents. Run several for high availability. SIGTERM or SIGINT stops it gracefully (a leader
hands its lease over at once). It is configured by environment variables only:

${row("REDIS_URL", "Redis URL; beats WORKSTEAL_REDIS_URL")}
${row("WORKSTEAL_CONFIG", "JSON file of settings (by their names below); the environment beats it")}
${row("WORKSTEAL_REPLICA_ID", "this replica's id (default: replica-<random>)")}
${settings.map((s) => row(s.env, s.defaultValue === undefined ? s.description : `${s.description} Default: ${String(s.defaultValue as string | number | boolean)}.`)).join("\n")}

Exit status: 0 stopped by a signal; 1 could not start (Redis unreachable); 2 bad configuration,
bad arguments, or the HTTP port cannot be bound.
`;
}
