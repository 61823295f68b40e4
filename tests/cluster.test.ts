import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { main } from "@worksteal/cli";
import { Agent } from "@worksteal/agent";
import { Client } from "@worksteal/client";
import { Replica } from "@worksteal/coordinator";
import { keysFor, type TaskRecord } from "@worksteal/protocol";
import { aclUserName, AgentQueues, closeRedis, createRedis, type RedisConnection, Store } from "@worksteal/store";
import { eventually, type NodeProcess, type RedisCluster, sleep, spawnNode, startCluster, testNamespace, waitUntilReady } from "@worksteal/testkit";
import { Cluster } from "ioredis";
import { agentUp, redisClock } from "../scripts/lib/readiness.js";
import { CoordinatorProcesses, readLease } from "./coordinators.js";
import { holdVictimUntilStolenWorkRuns } from "./helpers.js";

// A three-master cluster, coordinators and agents as processes, a leader killed, a slot moved:
// on a busy two-core machine that takes far longer than the suite's default allows.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

const COORDINATOR_ENV = { WORKSTEAL_LEASE_TTL_MS: "2000", WORKSTEAL_STEAL_INTERVAL: "200", WORKSTEAL_FOLD_LEASE_MS: "1000" };

let cluster: RedisCluster;
/** The test's own connection: a cluster one, as every component opens for a redis+cluster:// URL. */
let redis: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  const connection = createRedis(cluster.url);
  if (!(connection instanceof Cluster)) throw new Error("createRedis opened no Cluster for a redis+cluster:// URL");
  redis = connection;
}, 120_000);

afterAll(async () => {
  if (redis) await closeRedis(redis);
  await cluster?.stop();
});

/** A namespace on the cluster: agent and coordinator processes, a client, all closed by close(). */
function fleetOn(prefix: string) {
  const namespace = testNamespace(prefix);
  const keys = keysFor(namespace);
  const config = { redisUrl: cluster.url, namespace, logLevel: "silent" as const, heartbeatIntervalMs: 200 };
  const client = new Client({ config });
  const queues = new AgentQueues(redis, keys);
  const coordinators = new CoordinatorProcesses(cluster.url, namespace, COORDINATOR_ENV);
  const agents: NodeProcess[] = [];
  return {
    namespace,
    keys,
    client,
    coordinators,
    /** An agent process (scripts/lib/agent-process.ts) on the cluster URL; tasks sleep payload.ms and count their runs. */
    async startAgent(id: string, concurrency = 1) {
      const since = await redisClock(redis);
      const proc = spawnNode("scripts/lib/agent-process.ts", ["--id", id, "--concurrency", String(concurrency)], {
        env: { REDIS_URL: cluster.url, WORKSTEAL_NAMESPACE: namespace, WORKSTEAL_LOG_LEVEL: "warn", WORKSTEAL_HEARTBEAT_INTERVAL_MS: "200" },
      });
      agents.push(proc);
      await waitUntilReady(proc, agentUp(redis, queues, namespace, id, since), { what: `agent ${id}` });
      return proc;
    },
    async submit(ids: string[], options: { agentId?: string; ms?: number } = {}) {
      for (const id of ids) {
        await client.submit({ id, payload: { ms: options.ms ?? 20 }, ...(options.agentId === undefined ? {} : { agentId: options.agentId }) });
      }
    },
    /** Every task done, and each run exactly once by the agents' own count (a lost task never finishes, a double run counts 2). */
    async expectEachDoneOnce(ids: string[], timeoutMs = 90_000): Promise<TaskRecord[]> {
      const records = await eventually(
        async () => {
          const found = await Promise.all(ids.map((id) => client.get(id)));
          for (const [i, record] of found.entries()) expect(record?.state, ids[i]).toBe("done");
          return found as TaskRecord[];
        },
        { timeoutMs, intervalMs: 250 },
      );
      const runs = await redis.hgetall(keys.runLog);
      for (const id of ids) expect(Number(runs[id] ?? 0), `runs of ${id}`).toBe(1);
      return records;
    },
    async close() {
      for (const p of agents) p.kill("SIGTERM");
      const killLater = setTimeout(() => agents.forEach((p) => p.kill("SIGKILL")), 3000);
      await Promise.all(agents.map((p) => p.exited));
      clearTimeout(killLater);
      await coordinators.stopAll();
      await queues.close();
      await client.close();
    },
  };
}

type Fleet = ReturnType<typeof fleetOn>;
let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
});

/** Every key on every master, with the master's port. */
async function everyKey(): Promise<Array<{ key: string; port: number }>> {
  const found: Array<{ key: string; port: number }> = [];
  for (const node of redis.nodes("master")) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "COUNT", 1000);
      cursor = next;
      found.push(...keys.map((key) => ({ key, port: node.options.port! })));
    } while (cursor !== "0");
  }
  return found;
}

const slotOf = async (key: string, connection: RedisConnection = redis) => Number(await connection.cluster("KEYSLOT", key));

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("Redis Cluster", () => {
  it("the task path and stealing on a cluster; every key a run creates, BullMQ's included, is on the namespace's slot", async () => {
    fleet = fleetOn("cluster-path");
    await fleet.startAgent("a1", 1);
    await fleet.startAgent("a2", 8);
    await fleet.coordinators.start("r1");
    // A backlog on a1 alone: the coordinator moves tasks to the idle a2.
    const backlog = ids("t", 40);
    await fleet.submit(backlog, { agentId: "a1", ms: 100 });
    const records = await fleet.expectEachDoneOnce(backlog);
    expect(records.every((r) => JSON.stringify(r.result) === JSON.stringify({ by: r.owner }))).toBe(true);
    expect(records.filter((r) => r.owner === "a2").length).toBeGreaterThan(5);
    expect(await redis.zcard(fleet.keys.steals)).toBeGreaterThan(0);

    // The CLI reads the same URL (its listing SCANs the master serving the namespace's slot).
    let stdout = "";
    const code = await main(
      ["tasks", "--json", "--redis", cluster.url, "--namespace", fleet.namespace],
      { stdout: (s) => void (stdout += s), stderr: () => undefined },
      {},
    );
    expect(code).toBe(0);
    expect(stdout).toContain('"t39"');

    const slot = await slotOf(fleet.keys.events);
    const created = (await everyKey()).filter(({ key }) => key.includes(`{${fleet!.namespace}}`));
    // The 40 task records, agent sets, the event stream, the steal log and BullMQ's queues (their
    // jobs are removed as they finish, their meta and events stay): some ninety keys.
    expect(created.length).toBeGreaterThan(backlog.length + 20);
    expect(created.some(({ key }) => key.startsWith(`${fleet!.keys.bullPrefix}:agent.a2:`))).toBe(true);
    for (const { key } of created) expect(await slotOf(key), key).toBe(slot);
    expect(new Set(created.map(({ port }) => port)).size).toBe(1);
    // Nothing written outside the namespace's hash tag (the cluster is this file's own).
    expect((await everyKey()).filter(({ key }) => !/^ws:\{[^}]+\}:/.test(key))).toEqual([]);
  });

  it("several namespaces spread over the masters", async () => {
    const masters = new Set<number>();
    for (let i = 0; i < 12; i++) masters.add((await cluster.nodeServing(keysFor(testNamespace("spread")).events)).port);
    // Twelve random namespaces all on one of three masters: odds of 3 in 3^12.
    expect(masters.size).toBeGreaterThan(1);
  });

  it("the leader is SIGKILLed: the other coordinator replica takes over and the tasks finish", async () => {
    fleet = fleetOn("cluster-failover");
    await fleet.startAgent("a1", 4);
    await fleet.coordinators.start("r1");
    await fleet.coordinators.start("r2");
    const first = await eventually(
      async () => {
        const lease = await readLease(redis, fleet!.namespace);
        expect(lease).toBeDefined();
        return lease!;
      },
      { timeoutMs: 30_000 },
    );
    const before = ids("before", 10);
    await fleet.submit(before, { ms: 50 });
    await fleet.expectEachDoneOnce(before);

    fleet.coordinators.get(first.holder).kill("SIGKILL");
    const after = ids("after", 10);
    await fleet.submit(after, { ms: 50 });
    const next = await eventually(
      async () => {
        const lease = await readLease(redis, fleet!.namespace);
        expect(lease?.holder).toBeDefined();
        expect(lease!.holder).not.toBe(first.holder);
        return lease!;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(next.fence).toBeGreaterThan(first.fence);
    await fleet.expectEachDoneOnce([...before, ...after]);
  });

  it("the namespace's slot moves to another master while tasks run: MOVED and ASK followed, nothing lost, nothing run twice", async () => {
    fleet = fleetOn("cluster-reshard");
    await fleet.startAgent("a1", 2);
    await fleet.startAgent("a2", 2);
    await fleet.coordinators.start("r1");
    const source = await cluster.nodeServing(fleet.keys.events);
    const target = cluster.nodes.find((n) => n !== source)!;

    // A client that keeps submitting, placed by the coordinator, through the whole move. A submit
    // that fails is tried again with the same id, as any caller would (a submit of an id that
    // exists returns it as it is): what the move must not do is lose or double a task.
    const submitted: string[] = [];
    const failedSubmits: string[] = [];
    let feeding = true;
    const feeder = (async () => {
      for (let i = 0; feeding; i++) {
        const id = `f${i}`;
        for (;;) {
          try {
            await fleet.client.submit({ id, payload: { ms: 30 } });
            break;
          } catch (error) {
            failedSubmits.push(`${id}: ${(error as Error).message}`);
          }
        }
        submitted.push(id);
      }
    })();
    const running = ids("r", 20);
    await fleet.submit(running, { agentId: "a1", ms: 200 });
    // Tasks are queued, running and finishing when the move begins.
    await eventually(async () => expect((await fleet!.client.get("r1"))?.state).toBe("done"), { timeoutMs: 60_000, intervalMs: 100 });

    // As `redis-cli --cluster reshard` moves a slot: IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE.
    const move = await cluster.beginSlotMove(fleet.keys.events, target);
    expect(await move.migrateKeys()).toBeGreaterThan(50);
    // Half-moved: the source answers ASK for every key of the slot (the clients follow it to the target).
    await expect(onlyNode(source.port).get(fleet.keys.fence)).rejects.toThrow(/^ASK /);
    await move.finish();
    expect((await cluster.nodeServing(fleet.keys.events)).port).toBe(target.port);
    await expect(onlyNode(source.port).get(fleet.keys.fence)).rejects.toThrow(/^MOVED /);

    // Work goes on on the new master: more submits after the move, then the feeder stops.
    const movedAt = submitted.length;
    await eventually(() => expect(submitted.length).toBeGreaterThan(movedAt + 10), { timeoutMs: 60_000, intervalMs: 100 });
    feeding = false;
    await feeder;
    await fleet.expectEachDoneOnce([...running, ...submitted]);
    // The client's own view of failed calls while the slot was half-moved (retried above): at most a handful.
    expect(failedSubmits.length, failedSubmits.join("\n")).toBeLessThan(10);
    // Everything of the namespace is on the new master now.
    const left = (await everyKey()).filter(({ key }) => key.includes(`{${fleet!.namespace}}`));
    expect(new Set(left.map(({ port }) => port))).toEqual(new Set([target.port]));
  });

  it("a submit while the slot is half-moved waits out the TRYAGAIN answers and succeeds once the move ends", async () => {
    const namespace = testNamespace("cluster-tryagain");
    const keys = keysFor(namespace);
    const store = new Store(redis, namespace);
    const client = new Client({ config: { redisUrl: cluster.url, namespace, logLevel: "silent" }, redis });
    try {
      await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
      await store.heartbeat("a1", 0, 0);
      await client.submit({ id: "before", agentId: "a1", payload: {} });
      const source = await cluster.nodeServing(keys.events);
      const move = await cluster.beginSlotMove(
        keys.events,
        cluster.nodes.find((n) => n !== source)!,
      );
      await move.migrateKeys();
      // A new task's record does not exist on either master while the slot is half-moved: the
      // submit script's keys are answered TRYAGAIN until the move ends.
      const submitted = client.submit({ id: "during", agentId: "a1", payload: {} });
      // The move is held open this long, as a slow resharding would: longer than ioredis' default
      // retries (16 redirections, 0.8 s of ASK and TRYAGAIN pairs) and shorter than the connections' (128, about 6 s).
      await sleep(2500);
      await move.finish();
      await expect(submitted).resolves.toMatchObject({ taskId: "during", owner: "a1" });
      expect(await client.get("during")).toMatchObject({ state: "queued", owner: "a1" });
    } finally {
      await client.close();
    }
  });

  it("each role as its own ACL user (worksteal acl's rules on every node): the task path, stealing and the reader's listing, nothing refused", async () => {
    const namespace = testNamespace("cluster-acl");
    const password = "cluster-acl-secret";
    let printed = "";
    expect(await main(["acl", "-n", namespace, "--agent", "a1", "--agent", "a2"], { stdout: (s) => void (printed += s), stderr: () => undefined }, {})).toBe(0);
    // ACL users are per node: every master gets every rule.
    for (const node of cluster.nodes) {
      const admin = onlyNode(node.port);
      for (const line of printed.trim().split("\n")) {
        const [acl, ...rest] = line.split(" ");
        await admin.call(acl!, ...rest);
        await admin.call("ACL", "SETUSER", rest[1]!, `>${password}`);
      }
      await admin.call("ACL", "LOG", "RESET");
    }
    const hosts = cluster.url.slice("redis+cluster://".length);
    const urlOf = (user: string) => `redis+cluster://${user}:${password}@${hosts}`;
    const base = { namespace, logLevel: "silent" as const, heartbeatIntervalMs: 200, stealInterval: 200 };
    const replica = new Replica({ id: "r1", config: { ...base, redisUrl: urlOf(aclUserName(namespace, "coordinator")) } });
    // a1 holds its first task until a2 has run one, which only a steal can give it.
    const hold = holdVictimUntilStolenWorkRuns();
    const agents = ["a1", "a2"].map(
      (id) =>
        new Agent({
          id,
          handler: async ({ payload }) => {
            if (id === "a2") hold.thiefRan();
            else await hold.victimMayRun();
            await new Promise((resolve) => setTimeout(resolve, (payload as { ms: number }).ms));
            return { by: id };
          },
          config: { ...base, redisUrl: urlOf(aclUserName(namespace, "agent", id)) },
        }),
    );
    // Submitting writes any agent's queue: the application submits as the coordinator user.
    const client = new Client({ config: { ...base, redisUrl: urlOf(aclUserName(namespace, "coordinator")) } });
    try {
      await replica.start();
      for (const agent of agents) await agent.start();
      const tasks = ids("t", 16);
      for (const id of tasks) await client.submit({ id, agentId: "a1", payload: { ms: 100 } });
      const records = await eventually(
        async () => {
          const found = await Promise.all(tasks.map((id) => client.get(id)));
          for (const record of found) expect(record?.state).toBe("done");
          return found;
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
      expect(records.some((r) => r?.owner === "a2")).toBe(true);
      let listed = "";
      const code = await main(
        ["tasks", "--json", "--redis", urlOf(aclUserName(namespace, "reader")), "--namespace", namespace],
        { stdout: (s) => void (listed += s), stderr: (s) => void (listed += s) },
        {},
      );
      expect(code, listed).toBe(0);
      expect(listed).toContain('"t15"');
    } finally {
      await client.close();
      for (const agent of agents) await agent.close();
      await replica.stop();
    }
    for (const node of cluster.nodes) expect(await onlyNode(node.port).call("ACL", "LOG"), `ACL LOG of node ${node.port}`).toEqual([]);
  });
});

/** A plain connection to one node, which answers redirections instead of following them; closed after the test. */
function onlyNode(port: number) {
  const node = createRedis(`redis://127.0.0.1:${port}`);
  onTestFinished(() => closeRedis(node));
  return node;
}
