import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Redis } from "ioredis";
import { Agent } from "@worksteal/agent";
import { main } from "@worksteal/cli";
import { Client } from "@worksteal/client";
import { Replica } from "@worksteal/coordinator";
import { keysFor, TaskSpecSchema } from "@worksteal/protocol";
import { aclUser, aclUserName, Store } from "@worksteal/store";
import { eventually, type RedisServer, startRedisServer } from "@worksteal/testkit";
import { holdVictimUntilStolenWorkRuns } from "./helpers.js";

// Two agents run a backlog a steal must spread: on a busy two-core machine that takes a while.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const NS = "acl";
const OTHER = "elsewhere";
const PASSWORD = "acl-test-secret";
const keys = keysFor(NS);

/**
 * How Redis 7.0 words a refusal: NOPERM for a command or key the user may not use, and inside a
 * a script's command "ERR The user executing the script can't run this command" or "can't access
 * at least one of the keys".
 */
const REFUSED = /^NOPERM |^ERR The user executing the script can't (run this command|access at least one of the keys)/;

let server: RedisServer;
let admin: Redis;
const opened: Redis[] = [];

/** Runs the CLI in-process; `redisUrl` only matters to commands that connect. */
async function cli(argv: string[], redisUrl = "redis://127.0.0.1:1"): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main([...argv, "--redis", redisUrl, "--namespace", NS], { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) }, {});
  return { code, stdout, stderr };
}

const urlOf = (user: string) => `redis://${user}:${PASSWORD}@127.0.0.1:${server.port}`;

/** A plain connection as `user`, closed after the file. */
function connectAs(user: string): Redis {
  const redis = new Redis(urlOf(user), { maxRetriesPerRequest: 1 });
  redis.on("error", () => undefined);
  opened.push(redis);
  return redis;
}

/** ACL LOG entries, newest first: each denial's user, reason (command, key) and object. */
async function aclLog(): Promise<Array<{ username: string; reason: string; object: string; context: string }>> {
  const entries = (await admin.call("ACL", "LOG")) as unknown[][];
  return entries.map((entry) => {
    const fields: Record<string, unknown> = {};
    for (let i = 0; i < entry.length; i += 2) fields[String(entry[i])] = entry[i + 1];
    return { username: String(fields.username), reason: String(fields.reason), object: String(fields.object), context: String(fields.context) };
  });
}

beforeAll(async () => {
  server = await startRedisServer({ appendOnly: false });
  admin = new Redis(server.url);
  // The rules exactly as `worksteal acl` prints them, each line sent as its tokens.
  const printed = await cli(["acl", "--agent", "a1", "--agent", "a2"]);
  expect(printed).toMatchObject({ code: 0, stderr: "" });
  const lines = printed.stdout.trim().split("\n");
  expect(lines).toHaveLength(4);
  for (const line of lines) {
    const [acl, ...rest] = line.split(" ");
    await admin.call(acl!, ...rest);
    await admin.call("ACL", "SETUSER", rest[1]!, `>${PASSWORD}`);
  }
});

afterAll(async () => {
  for (const redis of opened) redis.disconnect();
  admin?.disconnect();
  await server?.stop();
});

describe("worksteal acl's roles in a real Redis", () => {
  it("each role does its job as its own user, and Redis refuses none of what they send", async () => {
    const base = { namespace: NS, logLevel: "silent" as const, heartbeatIntervalMs: 200, stealInterval: 200 };
    const coordinatorUrl = urlOf(aclUserName(NS, "coordinator"));
    const replica = new Replica({ id: "r1", config: { ...base, redisUrl: coordinatorUrl } });
    // a1 holds its first task until a2 has run one, which only a steal can give it.
    const hold = holdVictimUntilStolenWorkRuns();
    const agents = ["a1", "a2"].map(
      (id) =>
        new Agent({
          id,
          concurrency: 1,
          handler: async ({ payload }) => {
            if (id === "a2") hold.thiefRan();
            else await hold.victimMayRun();
            await new Promise((resolve) => setTimeout(resolve, (payload as { ms: number }).ms));
            return { by: id };
          },
          config: { ...base, redisUrl: urlOf(aclUserName(NS, "agent", id)) },
        }),
    );
    // Submitting writes any agent's queue: the application submits as the coordinator user.
    const client = new Client({ config: { ...base, redisUrl: coordinatorUrl } });
    try {
      await replica.start();
      for (const agent of agents) await agent.start();
      const ids = Array.from({ length: 24 }, (_, i) => `t${i}`);
      for (const id of ids) await client.submit({ id, agentId: "a1", payload: { ms: 100 } });

      await eventually(
        async () => {
          const states = await Promise.all(ids.map((id) => admin.hget(keys.task(id), "state")));
          expect(states.every((s) => s === "done")).toBe(true);
        },
        { timeoutMs: 90_000, intervalMs: 200 },
      );
      // Led (the lease), planned (steals moved tasks to a2), folded (a1's workload counts its runs).
      expect(await admin.hget(keys.leader, "holder")).toBe("r1");
      expect(await admin.zcard(keys.steals)).toBeGreaterThan(0);
      const owners = await Promise.all(ids.map((id) => admin.hget(keys.task(id), "owner")));
      expect(owners).toContain("a2");
      // Every completion folded before the replica stops (status reads the folded totals below).
      await eventually(async () => {
        const done = await Promise.all(["a1", "a2"].map(async (id) => Number(await admin.hget(keys.workload(id), "done"))));
        expect(done).toEqual([owners.filter((o) => o === "a1").length, owners.filter((o) => o === "a2").length]);
      });
    } finally {
      await client.close();
      for (const agent of agents) await agent.close();
      await replica.stop();
    }

    const reader = urlOf(aclUserName(NS, "reader"));
    const status = await cli(["status", "--json"], reader);
    expect(status).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(status.stdout)).toMatchObject({ agentCounts: { total: 2 }, tasks: { done: 24 } });
    const tasks = await cli(["tasks", "--json", "--limit", "100"], reader);
    expect(tasks).toMatchObject({ code: 0, stderr: "" });
    expect((JSON.parse(tasks.stdout) as { tasks: unknown[] }).tasks).toHaveLength(24);
    for (const argv of [["queues"], ["agents"], ["leader"], ["steals"], ["events", "tail"], ["dlq", "list"]]) {
      expect(await cli([...argv, "--json"], reader), argv.join(" ")).toMatchObject({ code: 0, stderr: "" });
    }

    // Nothing any role sent was refused, background work included (heartbeats, BullMQ's scripts).
    expect(await aclLog()).toEqual([]);
  });

  it("refuses the reader any write, an agent another agent's keys, and every role keys outside its namespace", async () => {
    const reader = connectAs(aclUserName(NS, "reader"));
    const agent = connectAs(aclUserName(NS, "agent", "a1"));
    const coordinator = connectAs(aclUserName(NS, "coordinator"));
    const refused = (call: Promise<unknown>) => expect(call).rejects.toThrow(REFUSED);

    await refused(reader.set(`${keys.prefix}x`, "1"));
    await refused(reader.del(keys.leader));
    await refused(reader.xadd(keys.events, "*", "event", "{}"));
    await refused(reader.hset(keys.task("t0"), "state", "failed"));
    // A script runs with the caller's rules: the reader's EVAL may not write either.
    await refused(reader.eval("return redis.call('SET', KEYS[1], '1')", 1, `${keys.prefix}x`));
    await refused(reader.eval(`return redis.call('SET', '${keys.prefix}x', '1')`, 0));

    const a2Wait = `${keys.bullPrefix}:agent.a2:wait`;
    await refused(agent.lpush(a2Wait, "t.stolen.1"));
    await refused(agent.lrange(a2Wait, 0, -1));
    await refused(agent.hset(keys.workload("a2"), "queued", "0"));
    await refused(agent.hset(keys.agent("a2"), "status", "draining"));
    await refused(agent.sadd(keys.queuedOf("a2"), "t0"));
    // Its own workload too: the coordinators fold it; the agent's scripts keep its counts in the load sets.
    await refused(agent.hset(keys.workload("a1"), "queued", "0"));
    await refused(agent.zadd(keys.queuedCounts, 0, "a2"));
    await refused(agent.eval("return redis.call('LPUSH', KEYS[1], 'x')", 1, a2Wait));
    await refused(agent.eval(`return redis.call('LPUSH', '${a2Wait}', 'x')`, 0));
    // The event stream is append-only for an agent: it reads, trims and deletes no one's events.
    await refused(agent.xrange(keys.events, "-", "+"));
    await refused(agent.xtrim(keys.events, "MAXLEN", 0));
    await refused(agent.eval("return redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)", 1, keys.events));
    await refused(agent.eval("return redis.call('DEL', KEYS[1])", 1, keys.events));
    await refused(agent.smembers(keys.agents));
    // Task records: claim and finish's commands only (it can still change any task's fields: see acl --help).
    await refused(agent.del(keys.task("t0")));
    await refused(agent.eval("return redis.call('DEL', KEYS[1])", 1, keys.task("t0")));

    for (const redis of [reader, agent, coordinator]) {
      await refused(redis.get(`${keysFor(OTHER).prefix}leader`));
      await refused(redis.set(`${keysFor(OTHER).prefix}leader`, "me"));
      await refused(redis.get("unrelated"));
    }
    // The coordinator has the namespace's keys, not the server's administration.
    await refused(coordinator.call("FLUSHALL"));
    await refused(coordinator.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"));
    await refused(coordinator.call("KEYS", "*"));
  });

  it("loads as an aclfile (--format aclfile) at a redis-server's start", async () => {
    const printed = await cli(["acl", "--agent", "a1", "--format", "aclfile"]);
    expect(printed).toMatchObject({ code: 0, stderr: "" });
    const dir = await mkdtemp(join(tmpdir(), "worksteal-acl-"));
    const file = join(dir, "users.acl");
    // ACL LOAD replaces every user: the file keeps the default user the test connects with.
    await writeFile(file, `user default on nopass ~* &* +@all\n${printed.stdout}`);
    const withFile = await startRedisServer({ appendOnly: false, args: ["--aclfile", file] });
    try {
      const listing = new Redis(withFile.url);
      const users = (await listing.call("ACL", "USERS")) as string[];
      listing.disconnect();
      expect(users.sort()).toEqual(["default", aclUserName(NS, "agent", "a1"), aclUserName(NS, "coordinator"), aclUserName(NS, "reader")].sort());
    } finally {
      await withFile.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("an agent's batches of claims and finishes (claimMany, finishMany) run as its user with nothing refused", async () => {
    await admin.call("ACL", "SETUSER", aclUserName(NS, "agent", "a3"), ...aclUser(NS, "agent", "a3").rules, `>${PASSWORD}`);
    const asAdmin = new Store(admin, NS);
    await asAdmin.registerAgent({ id: "a3", capabilities: [], concurrency: 2, priority: 0 });
    const ids = ["batch-1", "batch-2"];
    for (const id of ids) await asAdmin.submit(TaskSpecSchema.parse({ id, type: "noop" }), "a3");
    const asAgent = new Store(connectAs(aclUserName(NS, "agent", "a3")), NS);
    // The earlier tests' refusals are theirs: only this one's count.
    await admin.call("ACL", "LOG", "RESET");

    const claimed = await asAgent.claimMany(
      "a3",
      ids.map((taskId) => ({ taskId, epoch: 1 })),
    );
    expect(claimed).toEqual([expect.objectContaining({ attempt: 1 }), expect.objectContaining({ attempt: 1 })]);
    const finished = await asAgent.finishMany("a3", [
      { taskId: "batch-1", epoch: 1, outcome: "completed", detail: "null" },
      { taskId: "batch-2", epoch: 1, outcome: "failed", detail: "boom" },
    ]);
    expect(finished).toEqual([expect.objectContaining({ state: "done" }), expect.objectContaining({ state: "failed" })]);

    expect(await aclLog()).toEqual([]);
  });

  it("an agent whose user lacks ZADD on loads:changed (rules of an earlier release) is refused a batch of claims, and one of finishes, before it writes anything", async () => {
    const earlier = aclUser(NS, "agent", "a8").rules.filter((rule) => !(rule.includes("+zadd") && rule.includes(keys.loadsChanged)));
    expect(earlier).toHaveLength(aclUser(NS, "agent", "a8").rules.length - 1);
    await admin.call("ACL", "SETUSER", aclUserName(NS, "agent", "a8"), ...earlier, `>${PASSWORD}`);
    const asAdmin = new Store(admin, NS);
    await asAdmin.registerAgent({ id: "a8", capabilities: [], concurrency: 4, priority: 0 });
    const queued = ["old-batch-q1", "old-batch-q2"];
    const running = ["old-batch-r1", "old-batch-r2"];
    for (const id of [...queued, ...running]) await asAdmin.submit(TaskSpecSchema.parse({ id, type: "noop" }), "a8");
    for (const id of running) await asAdmin.claim(id, "a8", 1);
    const asAgent = new Store(connectAs(aclUserName(NS, "agent", "a8")), NS);
    const eventsBefore = await admin.xlen(keys.events);

    await expect(
      asAgent.claimMany(
        "a8",
        queued.map((taskId) => ({ taskId, epoch: 1 })),
      ),
    ).rejects.toThrow(REFUSED);
    await expect(
      asAgent.finishMany(
        "a8",
        running.map((taskId) => ({ taskId, epoch: 1, outcome: "completed" as const, detail: "null" })),
      ),
    ).rejects.toThrow(REFUSED);

    // Nothing of either batch stayed: records, sets and counts are as the admin left them.
    for (const id of queued) {
      expect(await admin.hget(keys.task(id), "state")).toBe("queued");
      expect(await admin.sismember(keys.queuedOf("a8"), id)).toBe(1);
    }
    for (const id of running) {
      expect(await admin.hget(keys.task(id), "state")).toBe("running");
      expect(await admin.sismember(keys.runningOf("a8"), id)).toBe(1);
    }
    expect(await admin.zscore(keys.queuedCounts, "a8")).toBe("2");
    expect(await admin.zscore(keys.runningCounts, "a8")).toBe("2");
    expect(await admin.xlen(keys.events)).toBe(eventsBefore);
  });

  it("an agent whose user lacks ZADD on loads:changed (rules of an earlier release) is refused a claim before the claim writes anything", async () => {
    const earlier = aclUser(NS, "agent", "a9").rules.filter((rule) => !(rule.includes("+zadd") && rule.includes(keys.loadsChanged)));
    expect(earlier).toHaveLength(aclUser(NS, "agent", "a9").rules.length - 1);
    await admin.call("ACL", "SETUSER", aclUserName(NS, "agent", "a9"), ...earlier, `>${PASSWORD}`);
    const asAdmin = new Store(admin, NS);
    await asAdmin.registerAgent({ id: "a9", capabilities: [], concurrency: 1, priority: 0 });
    await asAdmin.submit(TaskSpecSchema.parse({ id: "old-acl", type: "noop" }), "a9");
    const asAgent = new Store(connectAs(aclUserName(NS, "agent", "a9")), NS);
    await expect(asAgent.claim("old-acl", "a9", 1)).rejects.toThrow(REFUSED);
    // Nothing of the claim stayed: the task is queued, in a9's queued set, and counted there.
    expect(await admin.hget(keys.task("old-acl"), "state")).toBe("queued");
    expect(await admin.sismember(keys.queuedOf("a9"), "old-acl")).toBe(1);
    expect(await admin.zscore(keys.queuedCounts, "a9")).toBe("1");
    expect(await admin.zscore(keys.runningCounts, "a9")).toBeNull();
  });
});
