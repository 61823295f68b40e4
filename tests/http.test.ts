import type { Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { httpAddress, startHttp } from "@worksteal/coordinator";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness;
let server: Server | undefined;
afterEach(async () => {
  server?.close();
  await h.close();
});

describe("coordinator HTTP endpoints", () => {
  it("serves /healthz with the replica's role and /metrics with the namespace's figures", async () => {
    h = namespaceHarness("http", { enabled: false });
    const replica = await h.startReplica();
    await h.store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    for (let i = 0; i < 3; i++) await h.client.submit({ id: `t${i}`, agentId: "a1" });
    server = await startHttp(replica, 0, "127.0.0.1");
    const base = httpAddress(server);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ replica: replica.id, role: "leader", redis: "ready" });

    await eventually(async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toContain(`worksteal_replica_leader{replica="${replica.id}"} 1`);
      expect(text).toContain('worksteal_agents{status="alive"} 1');
      expect(text).toContain('worksteal_tasks{state="queued"} 3');
      expect(text).toContain('worksteal_agent_queued{agent="a1"} 3');
      expect(text).toMatch(/^# TYPE worksteal_reconciler_corrections_total counter$/m);
    });
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  });
});
