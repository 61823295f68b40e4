import type { Server } from "node:http";
import { connect } from "node:net";
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

  it("answers 400 to a request target no URL parser takes, and stays up", async () => {
    h = namespaceHarness("http-bad-target", { enabled: false });
    const replica = await h.startReplica();
    server = await startHttp(replica, 0, "127.0.0.1");
    const { port } = new URL(httpAddress(server));
    // fetch() cannot send `//` as a target: a raw request can, as a port scanner does.
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => socket.end("GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`${httpAddress(server)}/healthz`)).status).toBe(200);
  });
});
