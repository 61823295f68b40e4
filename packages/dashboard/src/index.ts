import type { IncomingMessage, ServerResponse } from "node:http";
import type { Store } from "@worksteal/store";
import { SnapshotFeed } from "./feed.js";
import { DASHBOARD_PREFIX, handleDashboardRequest } from "./handler.js";
import { loadStaticFiles } from "./static-files.js";

export { ACTION_HEADER, DASHBOARD_PREFIX } from "./handler.js";
export type { Snapshot } from "./snapshot.js";

export interface DashboardOptions {
  store: Store;
  agentTtlMs: number;
  /** Let POST requests drain agents and replay dead letters; off, they answer 403. */
  actions: boolean;
  /** Snapshot period, ms (default 1000). */
  intervalMs?: number;
  /** How far back the charts go, ms (default 5 minutes). */
  historyMs?: number;
}

export interface Dashboard {
  /** Answers a request whose path starts with DASHBOARD_PREFIX. */
  handle(request: IncomingMessage, response: ServerResponse): void;
  /** Stops reading snapshots; open streams get no more. */
  close(): void;
}

/** The dashboard of one namespace: starts reading snapshots at once (one per interval, shared by every page). */
export function createDashboard(options: DashboardOptions): Dashboard {
  const feed = new SnapshotFeed({
    store: options.store,
    agentTtlMs: options.agentTtlMs,
    actions: options.actions,
    intervalMs: options.intervalMs ?? 1000,
    historyMs: options.historyMs ?? 5 * 60 * 1000,
  });
  const context = { store: options.store, feed, files: loadStaticFiles(), actions: options.actions };
  return {
    handle: (request, response) => handleDashboardRequest(context, request, response),
    close: () => feed.stop(),
  };
}

/** Whether a request's URL is the dashboard's. */
export function isDashboardPath(url: string | undefined): boolean {
  return url !== undefined && (url === DASHBOARD_PREFIX || url.startsWith(`${DASHBOARD_PREFIX}/`) || url.startsWith(`${DASHBOARD_PREFIX}?`));
}
