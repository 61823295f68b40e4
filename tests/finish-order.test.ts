import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Agent } from "@worksteal/agent";
import { Client } from "@worksteal/client";
import { eventually, type RedisServer, startRedisServer } from "@worksteal/testkit";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

// MONITOR slows a server for everyone on it: this test has its own.
let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer({ appendOnly: false });
});
afterAll(async () => {
  await server?.stop();
});

/** One command MONITOR reported: the client that sent it and its arguments. */
interface Seen {
  client: string;
  args: string[];
}

describe("a completed task's finish", () => {
  it("reaches Redis before BullMQ completes its job, on the same connection", async () => {
    const config = { redisUrl: server.url, namespace: "order", logLevel: "silent" as const };
    const seen: Seen[] = [];
    const monitor = await new Redis(server.url).monitor();
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      if (!source.startsWith("lua")) seen.push({ client: source, args });
    });
    const agent = new Agent({ id: "a1", concurrency: 4, handler: () => "ok", config });
    const client = new Client({ config });
    try {
      await agent.start();
      // No id is a part of another: a job is found by its id in its completion's arguments.
      const ids = Array.from({ length: 20 }, (_, i) => `t${String(i).padStart(2, "0")}`);
      for (const id of ids) await client.submit({ id, agentId: "a1" });
      for (const id of ids) expect(await client.waitFor(id, { timeoutMs: 30_000 })).toMatchObject({ state: "done" });
      // BullMQ completes a job after its processor returns: wait until every job's completion was seen.
      const completionOf = (id: string) => seen.findIndex((s) => s.args.includes('{"ran":true}') && s.args.some((a) => a.includes(id)));
      await eventually(() => expect(ids.filter((id) => completionOf(id) < 0)).toEqual([]));
      for (const id of ids) {
        const taskKey = `ws:{order}:task:${id}`;
        // The last one: a script Redis did not hold (NOSCRIPT) is sent again, and that one is what ran.
        // A finish alone names the task's key; one of several in a row (finishMany) names its id.
        const finish = seen.findLastIndex((s) => (s.args.includes(taskKey) || s.args.includes(id)) && s.args.includes("completed"));
        const completion = completionOf(id);
        expect(finish, id).toBeGreaterThanOrEqual(0);
        expect(finish, id).toBeLessThan(completion);
        expect(seen[finish]!.client, id).toBe(seen[completion]!.client);
      }
    } finally {
      await agent.close();
      await client.close();
      monitor.disconnect();
    }
  });
});
