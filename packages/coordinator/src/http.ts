import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createDashboard, type Dashboard, DASHBOARD_PREFIX, isDashboardPath } from "@worksteal/dashboard";
import { readiness } from "./metrics-readiness.js";
import { FleetMetrics, scrapeMetrics } from "./metrics-scrape.js";
import type { Replica } from "./replica.js";

/** Answers one request for a replica that has started. */
export type RouteHandler = (replica: Replica, request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { "content-type": type });
  response.end(body);
}

const sendJson = (response: ServerResponse, status: number, body: unknown) => send(response, status, "application/json", `${JSON.stringify(body)}\n`);

/**
 * The built-in routes, by path (query strings ignored):
 * /healthz: liveness. 200 with the replica's role while its Redis connection is up, else 503.
 * /readyz: readiness. 200 when connected, folding and caught up; else 503 with the reason.
 * /metrics: Prometheus text: process metrics, this replica's counters and histograms, and the
 *   fleet's figures read from Redis in a fixed number of round trips.
 * /dashboard/...: the web dashboard, when the dashboard setting is on (404 otherwise); it starts
 *   reading snapshots at its first request.
 */
function builtinRoutes(): Map<string, RouteHandler> {
  const fleet = new FleetMetrics();
  let dashboard: Dashboard | undefined;
  return new Map<string, RouteHandler>([
    [
      "/healthz",
      (replica, _request, response) => {
        const fence = replica.leaderFence;
        const body = {
          replica: replica.id,
          role: fence === undefined ? "follower" : "leader",
          fence: fence ?? null,
          redis: replica.redisReady ? "ready" : "down",
        };
        sendJson(response, replica.redisReady ? 200 : 503, body);
      },
    ],
    [
      "/readyz",
      async (replica, _request, response) => {
        const state = await readiness(replica);
        sendJson(response, state.ready ? 200 : 503, { replica: replica.id, ...state });
      },
    ],
    [
      "/metrics",
      async (replica, _request, response) => {
        const { contentType, text } = await scrapeMetrics(replica, fleet);
        send(response, 200, contentType, text);
      },
    ],
    [
      DASHBOARD_PREFIX,
      (replica, request, response) => {
        const { config, store } = replica;
        if (!config.dashboard) return send(response, 404, "text/plain", "the dashboard is off: set dashboard (WORKSTEAL_DASHBOARD=true)\n");
        dashboard ??= createDashboard({ store, agentTtlMs: config.agentTtlMs, actions: config.dashboardActions });
        dashboard.handle(request, response);
      },
    ],
  ]);
}

export interface HttpOptions {
  /** More routes, by exact path, served beside the built-in ones (which they may not replace). */
  routes?: ReadonlyMap<string, RouteHandler>;
}

/**
 * Serves the replica's routes. `replica` may be a function giving the replica once it has
 * started: the port is then bound (and a port in use found) before the replica joins, and every
 * route answers 503 until it has. A route that fails answers 503 with the error's message.
 */
export function startHttp(replica: Replica | (() => Replica | undefined), port: number, host: string, options: HttpOptions = {}): Promise<Server> {
  const current = typeof replica === "function" ? replica : () => replica;
  const routes = builtinRoutes();
  for (const [path, handler] of options.routes ?? []) {
    if (routes.has(path)) throw new Error(`route ${path} is built in`);
    routes.set(path, handler);
  }
  const known = [...routes.keys()].join(", ");
  const server = createServer((request, response) => {
    const path = requestPath(request.url);
    // A request target no URL parser takes (`//`, `http://[`): refused, never thrown out of the listener (that would end the process).
    if (path === undefined) {
      send(response, 400, "text/plain", "bad request target\n");
      return;
    }
    const handler = routes.get(isDashboardPath(path) ? DASHBOARD_PREFIX : path);
    const replica = current();
    if (handler === undefined) {
      send(response, 404, "text/plain", `not found: try ${known}\n`);
    } else if (replica === undefined) {
      sendJson(response, 503, { replica: null, role: "starting", fence: null, redis: "unknown", ready: false, reason: "starting" });
    } else {
      Promise.resolve()
        .then(() => handler(replica, request, response))
        .catch((error: Error) => {
          if (!response.headersSent) send(response, 503, "text/plain", `unavailable: ${error.message}\n`);
          else response.end();
        });
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

function requestPath(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? "/", "http://localhost").pathname;
  } catch {
    return undefined;
  }
}
