import type { Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { httpAddress, startHttp } from "@worksteal/coordinator";
import { ACTION_HEADER, type Snapshot } from "@worksteal/dashboard";
import { readAgentStatus } from "@worksteal/store";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness;
let server: Server | undefined;
afterEach(async () => {
  server?.close();
  await h.close();
});

/** A replica with these settings, serving HTTP on a free port; returns its address. */
async function serve(settings: { dashboard?: boolean; dashboardActions?: boolean }): Promise<string> {
  h = namespaceHarness("dashboard-mount", { enabled: false, ...settings });
  await h.registerAgent("a1");
  server = await startHttp(await h.startReplica(), 0, "127.0.0.1");
  return httpAddress(server);
}

const drain = (base: string) => fetch(`${base}/dashboard/api/agents/a1/drain`, { method: "POST", headers: { [ACTION_HEADER]: "1" } });

describe("the dashboard on a replica's HTTP port", () => {
  it("is not served unless the dashboard setting is on", async () => {
    const base = await serve({});
    const response = await fetch(`${base}/dashboard/`);
    expect([response.status, await response.text()]).toEqual([404, expect.stringContaining("WORKSTEAL_DASHBOARD=true")]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("is served read-only when on: the page and the namespace's snapshot, actions refused", async () => {
    const base = await serve({ dashboard: true });
    expect((await fetch(`${base}/dashboard/`)).headers.get("content-type")).toMatch(/^text\/html/);
    // The first request starts the dashboard's reads; this one waits for the first.
    const snapshot = (await (await fetch(`${base}/dashboard/api/snapshot`)).json()) as Snapshot;
    expect(snapshot).toMatchObject({ namespace: h.namespace, actions: false, agents: [expect.objectContaining({ id: "a1", status: "alive" })] });
    expect((await drain(base)).status).toBe(403);
    expect(await readAgentStatus(h.store, "a1", h.config.agentTtlMs)).toBe("alive");
  });

  it("drains an agent when dashboardActions is on too", async () => {
    const base = await serve({ dashboard: true, dashboardActions: true });
    expect((await drain(base)).status).toBe(200);
    expect(await readAgentStatus(h.store, "a1", h.config.agentTtlMs)).toBe("draining");
  });
});
