import { Agent } from "@worksteal/agent";
import { main } from "@worksteal/cli";
import { Client } from "@worksteal/client";
import { Replica } from "@worksteal/coordinator";
import { type ConfigInput } from "@worksteal/protocol";
import { eventually, type RedisServer, type Sentinel, startRedisServer, startSentinel, testNamespace } from "@worksteal/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MASTER = "mymaster";

let primary: RedisServer;
let secondary: RedisServer;
const sentinels: Sentinel[] = [];
let sentinelUrl: string;

/** Where the sentinel on `port` says the primary is. */
async function primaryPortSeenBy(port: number): Promise<number | undefined> {
  const sentinel = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await sentinel.connect();
    const address = (await sentinel.call("SENTINEL", "get-master-addr-by-name", MASTER)) as [string, string] | null;
    return address === null ? undefined : Number(address[1]);
  } finally {
    sentinel.disconnect();
  }
}

/** The `SENTINEL master` fields of the sentinel on `port`. */
async function masterState(port: number): Promise<Record<string, string>> {
  const sentinel = new Redis({ port, host: "127.0.0.1" });
  try {
    const flat = (await sentinel.call("SENTINEL", "master", MASTER)) as string[];
    return Object.fromEntries(flat.flatMap((value, i) => (i % 2 === 0 ? [[value, flat[i + 1]!]] : [])));
  } finally {
    sentinel.disconnect();
  }
}

beforeAll(async () => {
  primary = await startRedisServer({ appendOnly: false });
  secondary = await startRedisServer({ appendOnly: false, args: ["--replicaof", "127.0.0.1", String(primary.port)] });
  for (let i = 0; i < 3; i++) sentinels.push(await startSentinel({ primaryPort: primary.port, masterName: MASTER, quorum: 2, downAfterMs: 2000 }));
  sentinelUrl = `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(",")}/${MASTER}`;
  // Ready when each sentinel knows the replica and the two other sentinels: only then can a
  // majority authorise a failover, and only a known replica can be promoted.
  await eventually(
    async () => {
      for (const sentinel of sentinels) {
        expect(await masterState(sentinel.port)).toMatchObject({ port: String(primary.port), "num-slaves": "1", "num-other-sentinels": "2" });
      }
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}, 90_000);

afterAll(async () => {
  await Promise.all(sentinels.map((s) => s.stop()));
  await secondary?.stop();
  await primary?.stop();
});

function fleet(prefix: string) {
  const namespace = testNamespace(prefix);
  const config: ConfigInput = { redisUrl: sentinelUrl, namespace, logLevel: "silent", heartbeatIntervalMs: 200 };
  const replica = new Replica({ id: `${prefix}-replica`, config });
  const agent = new Agent({ id: `${prefix}-agent`, handler: (task) => ({ echoed: task.payload }), config });
  const client = new Client({ config });
  return {
    client,
    namespace,
    start: async () => {
      await replica.start();
      await agent.start();
    },
    close: async () => {
      await client.close();
      await agent.close();
      await replica.stop();
    },
  };
}

describe("Redis through Sentinel", () => {
  it("client, coordinator and agent find the primary through the sentinels and run a task", async () => {
    const { client, start, close, namespace } = fleet("sentinel");
    try {
      await start();
      await client.submit({ id: "via-sentinel", payload: 1 });
      expect(await client.waitFor("via-sentinel", { timeoutMs: 20_000 })).toMatchObject({ state: "done", result: { echoed: 1 } });
      // The CLI takes the same URL.
      let stdout = "";
      const code = await main(
        ["task", "via-sentinel", "--json", "--redis", sentinelUrl, "--namespace", namespace],
        { stdout: (s) => void (stdout += s), stderr: () => undefined },
        {},
      );
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ id: "via-sentinel", state: "done" });
    } finally {
      await close();
    }
  });

  it("the primary is SIGKILLed mid-run: the sentinels promote the replica and the system carries on", async () => {
    const { client, start, close } = fleet("failover");
    try {
      await start();
      const before = ["before-1", "before-2", "before-3"];
      for (const id of before) await client.submit({ id, payload: id });
      for (const id of before) expect(await client.waitFor(id, { timeoutMs: 20_000 })).toMatchObject({ state: "done" });
      // Replication is asynchronous: only writes the replica has acknowledged (WAIT) are sure to outlive the primary.
      const direct = new Redis(primary.url);
      expect(await direct.wait(1, 10_000)).toBe(1);
      direct.disconnect();
      // Acknowledged by the primary but perhaps not yet replicated when it dies.
      const inFlight = ["during-1", "during-2", "during-3", "during-4"];
      for (const id of inFlight) await client.submit({ id, payload: id });
      primary.kill("SIGKILL");

      await eventually(
        async () => {
          for (const sentinel of sentinels) expect(await primaryPortSeenBy(sentinel.port)).toBe(secondary.port);
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
      await client.submit({ id: "after", payload: "after" });
      expect(await client.waitFor("after", { timeoutMs: 60_000 })).toMatchObject({ state: "done", result: { echoed: "after" } });
      for (const id of before) expect(await client.get(id)).toMatchObject({ state: "done" });
      // Each task submitted just before the kill either completes or was never replicated: then
      // the promoted replica has no record of it, which is what a failover loses (docs/operations.md).
      await eventually(
        async () => {
          for (const id of inFlight) expect([undefined, "done"]).toContain((await client.get(id))?.state);
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    } finally {
      await close();
    }
  }, 240_000);
});
