import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AGENT_STATUSES, STEAL_STATUSES } from "@worksteal/protocol";
import { readAgents, readMetrics, readNamespaceCounts, readSteals } from "@worksteal/store";
import type { Replica } from "./replica.js";

/** Steal operations counted by status in /metrics: the newest this many. */
const METRIC_STEALS = 10_000;

/**
 * /healthz: 200 with the replica's role while its Redis connection is up, else 503.
 * /metrics: the namespace's figures in Prometheus text format, read from Redis on each scrape.
 * `replica` may be a function giving the replica once it has started: the port is then bound
 * (and a port in use found) before the replica joins, and both paths answer 503 until it has.
 */
export function startHttp(replica: Replica | (() => Replica | undefined), port: number, host: string): Promise<Server> {
  const current = typeof replica === "function" ? replica : () => replica;
  const server = createServer((request, response) => {
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { "content-type": type });
      response.end(body);
    };
    const replica = current();
    if (replica === undefined && (request.url === "/healthz" || request.url === "/metrics")) {
      send(503, "application/json", `${JSON.stringify({ replica: null, role: "starting", fence: null, redis: "unknown" })}\n`);
    } else if (replica === undefined) {
      send(404, "text/plain", "not found: try /healthz or /metrics\n");
    } else if (request.url === "/healthz") {
      const fence = replica.leaderFence;
      const body = {
        replica: replica.id,
        role: fence === undefined ? "follower" : "leader",
        fence: fence ?? null,
        redis: replica.redisReady ? "ready" : "down",
      };
      send(replica.redisReady ? 200 : 503, "application/json", `${JSON.stringify(body)}\n`);
    } else if (request.url === "/metrics") {
      metrics(replica).then(
        (text) => send(200, "text/plain; version=0.0.4", text),
        (error: Error) => send(503, "text/plain", `# metrics unavailable: ${error.message}\n`),
      );
    } else {
      send(404, "text/plain", "not found: try /healthz or /metrics\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

export function httpAddress(server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  return `http://${address}:${port}`;
}

async function metrics(replica: Replica): Promise<string> {
  const { store, config } = replica;
  const [agents, counts, counters, steals] = await Promise.all([
    readAgents(store, config.agentTtlMs),
    readNamespaceCounts(store),
    readMetrics(store),
    readSteals(store, METRIC_STEALS),
  ]);
  const lines: string[] = [];
  const metric = (name: string, help: string, type: "gauge" | "counter", samples: Array<[labels: string, value: number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  metric("worksteal_replica_leader", "1 when this replica holds the leader lease", "gauge", [
    [`{replica="${replica.id}"}`, replica.leaderFence === undefined ? 0 : 1],
  ]);
  metric("worksteal_fence", "The latest fence issued", "gauge", [["", counts.fence]]);
  metric(
    "worksteal_agents",
    "Registered agents by status",
    "gauge",
    AGENT_STATUSES.map((s) => [`{status="${s}"}`, agents.filter((a) => a.status === s).length]),
  );
  const sum = (field: "queued" | "running" | "done" | "failed") => agents.reduce((n, a) => n + a.workload[field], 0);
  metric(
    "worksteal_tasks",
    "Tasks by state, summed over the folded workloads",
    "gauge",
    (["queued", "running", "done", "failed"] as const).map((s) => [`{state="${s}"}`, sum(s)]),
  );
  metric(
    "worksteal_agent_queued",
    "Tasks queued per agent (folded)",
    "gauge",
    agents.map((a) => [`{agent="${a.id}"}`, a.workload.queued]),
  );
  metric("worksteal_unassigned_tasks", "Tasks waiting for a live capable agent", "gauge", [["", counts.unassigned]]);
  metric("worksteal_event_stream_length", "Entries in the event stream", "gauge", [["", counts.events]]);
  metric(
    "worksteal_steal_operations",
    "Recent steal operations by status",
    "gauge",
    STEAL_STATUSES.map((s) => [`{status="${s}"}`, steals.steals.filter((op) => op.status === s).length]),
  );
  metric("worksteal_reconciler_corrections_total", "Corrections made by the reconciler", "counter", [
    ['{kind="workload"}', counters["reconciler.workload_corrections"] ?? 0],
    ['{kind="job_readded"}', counters["reconciler.jobs_readded"] ?? 0],
  ]);
  return `${lines.join("\n")}\n`;
}
