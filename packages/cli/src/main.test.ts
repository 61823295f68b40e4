import { type AgentView, TaskSpecSchema } from "@worksteal/protocol";
import { Store } from "@worksteal/store";
import { startRedisServer, testNamespace } from "@worksteal/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { LeaderRead, Status } from "@worksteal/store";
import { COMMAND_TIMEOUT_MS } from "./connect.js";
import { main } from "./main.js";

let redisUrl: string;
let redis: Redis;

beforeAll(() => {
  redisUrl = inject("redisUrl");
  redis = new Redis(redisUrl);
});
afterAll(async () => {
  await redis.quit();
});

/** Runs main in-process with a clean environment (only what the test passes). */
async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) }, env);
  return { code, stdout, stderr };
}

const inNs = (ns: string, ...args: string[]) => [...args, "--redis", redisUrl, "--namespace", ns];

async function redisNow(): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** Four agents (alive, alive, dead, draining), folded workloads, events (two folded), a folding replica. */
async function populate(ns: string): Promise<Store> {
  const store = new Store(redis, ns);
  const k = store.keys;
  await store.registerAgent({ id: "a1", capabilities: ["gpu", "ffmpeg"], concurrency: 4, priority: 1 });
  await store.registerAgent({ id: "a2", capabilities: [], concurrency: 1, priority: 0 });
  await store.registerAgent({ id: "a3", capabilities: [], concurrency: 2, priority: 0 });
  await store.registerAgent({ id: "a4", capabilities: [], concurrency: 2, priority: 0 });
  await store.heartbeat("a1", 42.5, 512);
  const now = await redisNow();
  await redis.hset(k.agent("a3"), "lastHeartbeat", now - 60_000);
  await redis.hset(k.agent("a4"), "status", "draining");
  await store.submit(TaskSpecSchema.parse({ id: "t1", type: "resize", payload: { w: 64 }, requiredCapabilities: ["gpu"] }), "a1");
  await store.submit(TaskSpecSchema.parse({ id: "u1" }), "");
  // Written after the submits, which add to the counts: the figures below are these.
  await redis.zadd(k.queuedCounts, 5, "a1", -1, "a2", 4, "a3");
  await redis.zadd(k.runningCounts, 2, "a1", 0, "a2");
  await redis.hset(k.workload("a1"), { done: 10, failed: 1, durationSumMs: 1234, durationCount: 10, cpu: 42.5, memoryMb: 512 });
  await redis.hset(k.workload("a2"), { done: 3, failed: 0 });
  await redis.hset(k.workload("a3"), { done: 1 });
  const [, second] = await redis.xrange(k.events, "-", "+", "COUNT", 2);
  await redis.hset(k.foldCursor, "id", second![0], "folded", 2);
  await redis.set(k.foldLease, "r-2");
  await redis.xadd(k.deadLetter, "*", "reason", "bad JSON", "event", "{x");
  await redis.hset(k.replicas, "r-1", now - 1500, "r-2", now);
  return store;
}

describe("status", () => {
  it("--json sums folded workloads, counts agents by status, and reads the stream, the fold and replicas", async () => {
    const ns = testNamespace("cli-status");
    const store = await populate(ns);
    const streamLength = await redis.xlen(store.keys.events);
    const { code, stdout, stderr } = await run(inNs(ns, "status", "--json"));
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    const status = JSON.parse(stdout) as Status;
    expect(status).toMatchObject({
      namespace: ns,
      agentCounts: { total: 4, alive: 2, draining: 1, drained: 0, dead: 1 },
      tasks: { queued: 8, running: 2, done: 14, failed: 1, unassigned: 1 },
      events: {
        length: streamLength,
        deadLetter: 1,
        fold: { lag: streamLength - 2, folder: "r-2" },
      },
      steals: 0,
    });
    expect(status.replicas.map((r) => r.id)).toEqual(["r-1", "r-2"]);
    expect(status.replicas[0]!.ageMs).toBeGreaterThanOrEqual(1500);
    expect(status.now).toBeGreaterThan(0);
    const a1 = status.agents.find((a) => a.id === "a1")!;
    expect(a1).toMatchObject({ status: "alive", concurrency: 4, capabilities: ["gpu", "ffmpeg"], workload: { queued: 5, running: 2 } });
    expect(status.agents.find((a) => a.id === "a2")!.workload.queued).toBe(-1);
  });

  it("prints a summary for people, and copes with an empty namespace (no stream, no fold cursor)", async () => {
    const ns = testNamespace("cli-status");
    await populate(ns);
    const { code, stdout } = await run(inNs(ns, "status"));
    expect(code).toBe(0);
    // populate() leaves heartbeats but no lease and no roles.
    expect(stdout).toMatch(/^leader\s+none \(fence 0\); 2 replicas \(0 leaders, 0 followers, 2 without a role\)$/m);
    expect(stdout).toMatch(/agents\s+2 alive, 1 draining, 0 drained, 1 dead \(4 registered\)/);
    expect(stdout).toMatch(/tasks\s+8 queued, 2 running, 14 done, 1 failed/);
    expect(stdout).toMatch(/folded up to \d+-\d+, lag \d+, folding: r-2/);
    expect(stdout).toMatch(/replicas\s+2: r-1 \(1\.\ds ago\), r-2/);

    const empty = await run(inNs(testNamespace("cli-empty"), "status", "--json"));
    expect(empty.code).toBe(0);
    expect(JSON.parse(empty.stdout)).toMatchObject({
      agentCounts: { total: 0 },
      tasks: { queued: 0, unassigned: 0 },
      events: { length: 0, deadLetter: 0, fold: { cursor: null, lag: 0, folder: null } },
      replicas: [],
      leader: { lease: null, fence: 0, roles: {} },
      agents: [],
    });
    const emptyText = await run(inNs(testNamespace("cli-empty"), "status"));
    expect(emptyText.stdout).toMatch(/not folded yet \(lag 0\)/);
    expect(emptyText.stdout).toMatch(/^leader\s+none \(fence 0\); 0 replicas$/m);
  });
});

/**
 * A lease written by hand as the acquire script writes it: r-1 leads at fence 7 (acquired 12 s
 * ago, `ttlMs` left), r-2 follows, r-3 still believes it leads at fence 6 and has no heartbeat.
 */
async function writeLeadership(ns: string, ttlMs = 5000): Promise<{ store: Store; now: number }> {
  const store = new Store(redis, ns);
  const k = store.keys;
  const now = await redisNow();
  await redis.hset(k.leader, { holder: "r-1", fence: 7, acquiredAt: now - 12_000 });
  await redis.pexpire(k.leader, ttlMs);
  await redis.set(k.fence, 7);
  await redis.hset(k.replicas, "r-1", now - 1500, "r-2", now);
  await redis.hset(k.replicaRoles, { "r-1": "leader:7", "r-2": "follower", "r-3": "leader:6" });
  return { store, now };
}

describe("leader", () => {
  it("--json: the lease with its TTL, the fence counter, and every replica's heartbeat and role", async () => {
    const ns = testNamespace("cli-leader");
    const { now } = await writeLeadership(ns);
    const { code, stdout, stderr } = await run(inNs(ns, "leader", "--json"));
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout.trim().split("\n")).toHaveLength(1);
    const read = JSON.parse(stdout) as LeaderRead;
    expect(Object.keys(read).sort()).toEqual(["fence", "lease", "now", "replicas"]);
    expect(read.now).toBeGreaterThanOrEqual(now);
    expect(read.fence).toBe(7);
    expect(read.lease).toMatchObject({ holder: "r-1", fence: 7, acquiredAt: now - 12_000 });
    expect(Object.keys(read.lease!).sort()).toEqual(["acquiredAt", "fence", "heldForMs", "holder", "remainingMs"]);
    expect(read.lease!.remainingMs).toBeGreaterThan(0);
    expect(read.lease!.remainingMs).toBeLessThanOrEqual(5000);
    expect(read.lease!.heldForMs).toBe(read.now - (now - 12_000));
    expect(read.replicas).toEqual([
      { id: "r-1", lastHeartbeat: now - 1500, ageMs: read.now - (now - 1500), role: "leader:7" },
      { id: "r-2", lastHeartbeat: now, ageMs: read.now - now, role: "follower" },
      { id: "r-3", lastHeartbeat: null, ageMs: null, role: "leader:6" },
    ]);
  });

  it("prints the lease and a replica table, flagging a replica whose view disagrees with the lease", async () => {
    const ns = testNamespace("cli-leader");
    await writeLeadership(ns);
    const { code, stdout } = await run(inNs(ns, "leader"));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^holder\s+r-1$/m);
    expect(stdout).toMatch(/^fence\s+7 \(latest issued: 7\)$/m);
    expect(stdout).toMatch(/^lease\s+[1-5]\.\ds left$/m);
    expect(stdout).toMatch(/^acquired\s+\d{4}-\d\d-\d\d [\d:.]+Z \(12\.\ds ago\)$/m);
    expect(stdout).not.toMatch(/no leader/);
    const table = stdout.trimEnd().split("\n\n")[1]!.split("\n");
    expect(table[0]).toMatch(/^REPLICA\s+ROLE\s+HEARTBEAT$/);
    expect(table[1]).toMatch(/^r-1\s+leader:7\s+1\.\ds ago$/);
    expect(table[2]).toMatch(/^r-2\s+follower\s+\d+ms ago$/);
    expect(table[3]).toMatch(/^r-3\s+leader:6 \(stale: does not hold the lease\)\s+never$/);
    expect(table).toHaveLength(4);

    // status: one line for the lease, and the same lease object with the roles in --json.
    const status = await run(inNs(ns, "status"));
    expect(status.stdout).toMatch(/^leader\s+r-1 \(fence 7, [1-5]\.\ds left\); 3 replicas \(1 leader, 1 follower, 1 stale leader\)$/m);
    const json = JSON.parse((await run(inNs(ns, "status", "--json"))).stdout) as Status;
    expect(json.leader).toEqual({
      lease: {
        holder: "r-1",
        fence: 7,
        acquiredAt: expect.any(Number) as number,
        remainingMs: expect.any(Number) as number,
        heldForMs: expect.any(Number) as number,
      },
      fence: 7,
      roles: { "r-1": "leader:7", "r-2": "follower", "r-3": "leader:6" },
    });
  });

  it("no lease: says no leader, exit 0, lease null, the fence counter kept; and the lease TTL is honoured", async () => {
    const ns = testNamespace("cli-leader");
    const { store } = await writeLeadership(ns, 150);
    expect(JSON.parse((await run(inNs(ns, "leader", "--json"))).stdout)).toMatchObject({ lease: { holder: "r-1" } });
    // Let the lease run out, as when its holder stops renewing.
    await new Promise((r) => setTimeout(r, 250));
    expect(await redis.exists(store.keys.leader)).toBe(0);

    const text = await run(inNs(ns, "leader"));
    expect(text.code).toBe(0);
    expect(text.stderr).toBe("");
    expect(text.stdout.startsWith(`no leader: no replica holds the lease in namespace ${ns}\n`)).toBe(true);
    expect(text.stdout).toMatch(/^latest fence\s+7$/m);
    expect(text.stdout).toMatch(/^r-1\s+leader:7 \(stale: does not hold the lease\)/m);

    const json = await run(inNs(ns, "leader", "--json"));
    expect(json.code).toBe(0);
    const read = JSON.parse(json.stdout) as LeaderRead;
    expect(read).toMatchObject({ lease: null, fence: 7 });
    expect(read.replicas.map((r) => r.id)).toEqual(["r-1", "r-2", "r-3"]);

    const status = await run(inNs(ns, "status"));
    expect(status.stdout).toMatch(/^leader\s+none \(fence 7\); 3 replicas \(0 leaders, 1 follower, 2 stale leaders\)$/m);
    expect((JSON.parse((await run(inNs(ns, "status", "--json"))).stdout) as Status).leader).toMatchObject({ lease: null, fence: 7 });
  });

  it("reads what the store's acquire script writes; a holder that has not yet reported its role is flagged", async () => {
    const ns = testNamespace("cli-leader");
    const store = new Store(redis, ns);
    expect(await store.acquireLease("r-9", 5000, "start-1")).toEqual({ held: true, fence: 1 });
    await redis.hset(store.keys.replicaRoles, "r-9", "follower");
    const read = JSON.parse((await run(inNs(ns, "leader", "--json"))).stdout) as LeaderRead;
    expect(read.lease).toMatchObject({ holder: "r-9", fence: 1 });
    expect(read.lease!.acquiredAt).toBeGreaterThan(0);
    expect(read.lease!.heldForMs).toBeGreaterThanOrEqual(0);
    expect(read.fence).toBe(1);
    expect(read.replicas).toEqual([{ id: "r-9", lastHeartbeat: null, ageMs: null, role: "follower" }]);
    expect((await run(inNs(ns, "leader"))).stdout).toMatch(/^r-9\s+follower \(holds the lease\)\s+never$/m);

    // Released and taken again: the same replica at a new fence; its old self-view is stale.
    expect(await store.releaseLease("r-9", 1)).toBe(true);
    expect(await store.acquireLease("r-9", 5000, "start-1")).toEqual({ held: true, fence: 2 });
    await redis.hset(store.keys.replicaRoles, "r-9", "leader:1");
    expect((await run(inNs(ns, "leader"))).stdout).toMatch(/^r-9\s+leader:1 \(stale: does not hold the lease\)\s+never$/m);
    await redis.hset(store.keys.replicaRoles, "r-9", "leader:2");
    expect((await run(inNs(ns, "leader"))).stdout).toMatch(/^r-9\s+leader:2\s+never$/m);
  });

  it("an empty namespace: no leader, fence 0, no replicas", async () => {
    const ns = testNamespace("cli-leader");
    expect(JSON.parse((await run(inNs(ns, "leader", "--json"))).stdout)).toEqual({ now: expect.any(Number) as number, lease: null, fence: 0, replicas: [] });
    const text = await run(inNs(ns, "leader"));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^no leader: /);
    expect(text.stdout).toMatch(/^latest fence\s+0 \(none issued yet\)$/m);
    expect(text.stdout).toMatch(/^no replicas seen$/m);
  });
});

describe("agents", () => {
  it("--json prints the AgentView array, sorted by id", async () => {
    const ns = testNamespace("cli-agents");
    await populate(ns);
    const { code, stdout } = await run(inNs(ns, "agents", "--json"));
    expect(code).toBe(0);
    const agents = JSON.parse(stdout) as AgentView[];
    expect(agents.map((a) => [a.id, a.status])).toEqual([
      ["a1", "alive"],
      ["a2", "alive"],
      ["a3", "dead"],
      ["a4", "draining"],
    ]);
    expect(agents[0]).toMatchObject({
      priority: 1,
      workload: { queued: 5, running: 2, done: 10, failed: 1, durationSumMs: 1234, durationCount: 10, cpu: 42.5, memoryMb: 512 },
    });
    expect(agents[0]!.lastHeartbeat).toBeGreaterThan(0);
  });

  it("prints a table with the average duration and heartbeat age", async () => {
    const ns = testNamespace("cli-agents");
    await populate(ns);
    const { code, stdout } = await run(inNs(ns, "agents"));
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+SLOTS\s+CAPABILITIES\s+QUEUED\s+RUNNING\s+DONE\s+FAILED\s+AVG MS\s+CPU %\s+MEM MB\s+HEARTBEAT$/);
    expect(lines[1]).toMatch(/^a1\s+alive\s+4\s+gpu,ffmpeg\s+5\s+2\s+10\s+1\s+123\s+42\.5\s+512\s+\S+ ago$/);
    expect(lines[2]).toMatch(/^a2\s+alive\s+1\s+-\s+-1\s+0\s+3\s+0\s+-\s+0\s+0\s/);
    expect(lines[3]).toMatch(/^a3\s+dead\s.*1m0\ds ago$/);
    expect(lines).toHaveLength(5);
    // Columns line up: every row is as wide as its cells allow, numbers end under their header.
    const queuedEnd = lines[0]!.indexOf("QUEUED") + "QUEUED".length;
    for (const line of lines.slice(1, 4)) expect(line[queuedEnd - 1]).toMatch(/\d/);

    const none = await run(inNs(testNamespace("cli-none"), "agents"));
    expect(none.stdout).toMatch(/^no agents registered/);
    expect(JSON.parse((await run(inNs(testNamespace("cli-none"), "agents", "--json"))).stdout)).toEqual([]);
  });
});

describe("task", () => {
  it("prints a found task as key/value lines or JSON; an unknown id is one line and exit 1", async () => {
    const ns = testNamespace("cli-task");
    await populate(ns);
    const json = await run(inNs(ns, "task", "t1", "--json"));
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      id: "t1",
      type: "resize",
      payload: { w: 64 },
      requiredCapabilities: ["gpu"],
      owner: "a1",
      state: "queued",
      epoch: 1,
    });

    const text = await run(inNs(ns, "task", "t1"));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^id\s+t1$/m);
    expect(text.stdout).toMatch(/^payload\s+\{"w":64\}$/m);
    expect(text.stdout).toMatch(/^state\s+queued$/m);
    expect(text.stdout).toMatch(/^createdAt\s+\d+ \(\d{4}-\d\d-\d\d /m);
    expect((await run(inNs(ns, "task", "u1"))).stdout).toMatch(/^owner\s+\(unassigned\)$/m);

    const missing = await run(inNs(ns, "task", "nope"));
    expect(missing).toEqual({ code: 1, stdout: "", stderr: "worksteal: task nope not found\n" });
  });

  it("a malformed record is reported in one line, exit 1", async () => {
    const ns = testNamespace("cli-task");
    const store = new Store(redis, ns);
    await redis.hset(store.keys.task("bad"), { id: "bad", payload: "{not json" });
    const { code, stderr } = await run(inNs(ns, "task", "bad"));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^worksteal: task bad: unreadable record: .+\n$/);
  });
});

describe("steals", () => {
  async function writeSteal(store: Store, id: string, finishedAt: number, taskIds: string[], status = "completed") {
    await redis.hset(store.keys.steal(id), {
      directiveId: id,
      fence: 3,
      source: "a1",
      target: "a2",
      requested: 3,
      taskIds: JSON.stringify(taskIds),
      status,
      reason: "a1 holds 9 queued, a2 idle",
      detail: status === "partial" ? "1 task already started" : "",
      startedAt: finishedAt - 5,
      finishedAt,
    });
    await redis.zadd(store.keys.steals, finishedAt, id);
  }

  it("lists newest first, honours --limit, and skips a record that is gone", async () => {
    const ns = testNamespace("cli-steals");
    const store = new Store(redis, ns);
    const base = Date.UTC(2024, 0, 1);
    await writeSteal(store, "d1", base + 1000, ["t1", "t2", "t3"]);
    await writeSteal(store, "d2", base + 3000, ["t4"], "partial");
    await writeSteal(store, "d3", base + 2000, [], "rejected");
    await redis.zadd(store.keys.steals, base, "d0-expired");

    const all = await run(inNs(ns, "steals", "--json"));
    expect(all.code).toBe(0);
    const steals = JSON.parse(all.stdout) as Array<{ directiveId: string; taskIds: string[]; status: string }>;
    expect(steals.map((s) => s.directiveId)).toEqual(["d2", "d3", "d1"]);
    expect(steals[0]).toMatchObject({ source: "a1", target: "a2", requested: 3, taskIds: ["t4"], status: "partial", fence: 3 });
    expect(all.stderr).toBe("worksteal: steal d0-expired: skipped: record expired or missing\n");

    const limited = await run(inNs(ns, "steals", "--json", "--limit", "2"));
    expect((JSON.parse(limited.stdout) as Array<{ directiveId: string }>).map((s) => s.directiveId)).toEqual(["d2", "d3"]);
    expect(limited.stderr).toBe("");

    const text = await run(inNs(ns, "steals", "--limit", "2"));
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^FINISHED\s+DIRECTIVE\s+SOURCE → TARGET\s+REQUESTED\s+MOVED\s+STATUS\s+REASON$/);
    expect(lines[1]).toMatch(/^2024-01-01 00:00:03\.000Z\s+d2\s+a1 → a2\s+3\s+1\s+partial\s+a1 holds 9 queued, a2 idle; 1 task already started$/);
    expect(lines[2]).toMatch(/d3\s+a1 → a2\s+3\s+0\s+rejected/);
    expect(lines).toHaveLength(3);
  });

  it("an empty namespace prints [] or a sentence", async () => {
    const ns = testNamespace("cli-steals");
    expect(await run(inNs(ns, "steals", "--json"))).toEqual({ code: 0, stdout: "[]\n", stderr: "" });
    expect((await run(inNs(ns, "steals"))).stdout).toMatch(/^no steal operations/);
  });
});

describe("agent drain", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function register(ns: string, ...ids: string[]): Promise<Store> {
    const store = new Store(redis, ns);
    for (const id of ids) await store.registerAgent({ id, capabilities: [], concurrency: 2, priority: 0 });
    return store;
  }

  /** The `agent:draining` events in the namespace's stream, as the agent ids they name. */
  async function drainingEvents(store: Store): Promise<string[]> {
    const entries = await redis.xrange(store.keys.events, "-", "+");
    return entries
      .map(([, fields]) => JSON.parse(fields[fields.indexOf("event") + 1]!) as { kind: string; agentId: string })
      .filter((e) => e.kind === "agent:draining")
      .map((e) => e.agentId);
  }

  it("marks a registered agent draining and appends one event; a repeat changes nothing", async () => {
    const ns = testNamespace("cli-drain");
    const store = await register(ns, "a1", "a2");
    expect(await run(inNs(ns, "agent", "drain", "a1"))).toEqual({ code: 0, stdout: "agent a1: draining (was alive)\n", stderr: "" });
    expect(await redis.hget(store.keys.agent("a1"), "status")).toBe("draining");
    expect(await redis.hget(store.keys.agent("a2"), "status")).toBe("alive");
    expect(await drainingEvents(store)).toEqual(["a1"]);

    const again = await run(inNs(ns, "agent", "drain", "a1", "--json"));
    expect(again).toMatchObject({ code: 0, stderr: "" });
    expect(again.stdout.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(again.stdout)).toEqual({ agentId: "a1", status: "draining", previous: "draining" });
    expect(await redis.hget(store.keys.agent("a1"), "status")).toBe("draining");
    expect(await drainingEvents(store)).toEqual(["a1"]);

    expect(JSON.parse((await run(inNs(ns, "agent", "drain", "a2", "--json"))).stdout)).toEqual({ agentId: "a2", status: "draining", previous: "alive" });
    expect(await drainingEvents(store)).toEqual(["a1", "a2"]);

    // Already drained: stays drained, no event.
    await redis.hset(store.keys.agent("a1"), "status", "drained");
    expect((await run(inNs(ns, "agent", "drain", "a1"))).stdout).toBe("agent a1: drained (was drained)\n");
    expect(await redis.hget(store.keys.agent("a1"), "status")).toBe("drained");
    expect(await drainingEvents(store)).toEqual(["a1", "a2"]);
  });

  it("undrain takes a draining or drained agent back; an unknown one is exit 1", async () => {
    const ns = testNamespace("cli-undrain");
    const store = await register(ns, "a1");
    await run(inNs(ns, "agent", "drain", "a1"));
    expect(await run(inNs(ns, "agent", "undrain", "a1"))).toEqual({ code: 0, stdout: "agent a1: draining -> alive\n", stderr: "" });
    expect(await redis.hget(store.keys.agent("a1"), "status")).toBe("alive");
    await redis.hset(store.keys.agent("a1"), "status", "drained");
    expect(JSON.parse((await run(inNs(ns, "agent", "undrain", "a1", "--json"))).stdout)).toEqual({ agentId: "a1", status: "alive", previous: "drained" });
    expect(await run(inNs(ns, "agent", "undrain", "ghost"))).toEqual({ code: 1, stdout: "", stderr: "worksteal: agent ghost is not registered\n" });
  });

  it("a dead agent is drained all the same, with a note that it will not hear of it until it comes back", async () => {
    const ns = testNamespace("cli-drain");
    const store = await register(ns, "a3");
    await redis.hset(store.keys.agent("a3"), "lastHeartbeat", (await redisNow()) - 60_000);
    const { code, stdout, stderr } = await run(inNs(ns, "agent", "drain", "a3"));
    expect({ code, stdout }).toEqual({ code: 0, stdout: "agent a3: draining (was dead)\n" });
    expect(stderr).toMatch(/^worksteal: agent a3 is dead \(no heartbeat within 15000ms\): [^\n]+\n$/);
    expect(await redis.hget(store.keys.agent("a3"), "status")).toBe("draining");
  });

  it("an agent never registered is one line and exit 1; a bad id is one line and exit 2", async () => {
    const ns = testNamespace("cli-drain");
    const store = await register(ns, "a1");
    expect(await run(inNs(ns, "agent", "drain", "ghost"))).toEqual({ code: 1, stdout: "", stderr: "worksteal: agent ghost is not registered\n" });
    expect(await run(inNs(ns, "agent", "drain", "ghost", "--json", "--wait"))).toEqual({
      code: 1,
      stdout: "",
      stderr: "worksteal: agent ghost is not registered\n",
    });
    expect(await redis.exists(store.keys.agent("ghost"))).toBe(0);
    for (const id of ["a:b", "a b", "x".repeat(65)]) {
      const bad = await run(inNs(ns, "agent", "drain", id));
      expect(bad.code, id).toBe(2);
      expect(bad.stdout).toBe("");
      expect(bad.stderr).toMatch(/^worksteal: agent id: [^\n]+\n$/);
    }
    expect(await drainingEvents(store)).toEqual([]);
  });

  it("--wait polls until the agent hash says drained, reporting its queued and running counts each second", async () => {
    const ns = testNamespace("cli-drain");
    const store = await register(ns, "a1");
    await redis.sadd(store.keys.queuedOf("a1"), "t1", "t2");
    await redis.sadd(store.keys.runningOf("a1"), "t3");
    const started = Date.now();
    const pending = run(inNs(ns, "agent", "drain", "a1", "--wait", "--timeout", "10"));
    await sleep(1600);
    // What markDrained does once the agent holds nothing (the sets are left: the CLI trusts the hash).
    await redis.hset(store.keys.agent("a1"), "status", "drained");
    const { code, stdout, stderr } = await pending;
    const elapsed = Date.now() - started;
    expect(code).toBe(0);
    expect(elapsed).toBeGreaterThanOrEqual(1600);
    expect(elapsed).toBeLessThan(5000);
    const out = stdout.trimEnd().split("\n");
    expect(out[0]).toBe("agent a1: draining (was alive)");
    expect(out[1]).toMatch(/^agent a1: drained \(after \d+\.\ds\)$/);
    expect(out).toHaveLength(2);
    const progress = stderr.trimEnd().split("\n");
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.length).toBeLessThanOrEqual(3);
    for (const line of progress) expect(line).toMatch(/^worksteal: agent a1: draining, 2 queued, 1 running \(waited \S+\)$/);

    // --json --wait: the one object, once drained.
    const store2 = await register(ns, "a2");
    const json = run(inNs(ns, "agent", "drain", "a2", "--wait", "--json"));
    await sleep(400);
    await redis.hset(store2.keys.agent("a2"), "status", "drained");
    const done = await json;
    expect(done.code).toBe(0);
    expect(done.stdout.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(done.stdout)).toEqual({ agentId: "a2", status: "drained", previous: "alive" });

    // Already drained: returns at once.
    const at = Date.now();
    expect(await run(inNs(ns, "agent", "drain", "a2", "--wait"))).toEqual({ code: 0, stdout: "agent a2: drained (was drained)\n", stderr: "" });
    expect(Date.now() - at).toBeLessThan(1000);
  });

  it("--wait gives up after --timeout with a clear line and exit 1, and stops if the agent registers again", async () => {
    const ns = testNamespace("cli-drain");
    const store = await register(ns, "a1", "a2");
    await redis.sadd(store.keys.runningOf("a1"), "t9");
    const started = Date.now();
    const { code, stdout, stderr } = await run(inNs(ns, "agent", "drain", "a1", "--wait", "--timeout", "0.3"));
    const elapsed = Date.now() - started;
    expect({ code, stdout }).toEqual({ code: 1, stdout: "agent a1: draining (was alive)\n" });
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(2000);
    expect(stderr).toMatch(/^worksteal: agent a1: draining, 0 queued, 1 running \(waited \d+ms\)\n/);
    expect(stderr.endsWith("worksteal: agent a1 did not drain within 0.3s: still draining with 0 queued, 1 running\n")).toBe(true);
    // The request stands.
    expect(await redis.hget(store.keys.agent("a1"), "status")).toBe("draining");

    const json = await run(inNs(ns, "agent", "drain", "a1", "--wait", "--timeout", "0.1", "--json"));
    expect(json.code).toBe(1);
    expect(json.stdout).toBe("");
    expect(json.stderr).toMatch(/did not drain within 0\.1s/);

    const pending = run(inNs(ns, "agent", "drain", "a2", "--wait", "--timeout", "10"));
    await sleep(300);
    await store.registerAgent({ id: "a2", capabilities: [], concurrency: 2, priority: 0 });
    const back = await pending;
    expect(back.code).toBe(1);
    expect(back.stderr).toMatch(/worksteal: agent a2 stopped draining \(status alive: it registered again\)\n$/);
  });
});

describe("configuration and errors", () => {
  it("takes the URL from REDIS_URL before WORKSTEAL_REDIS_URL, and the namespace from WORKSTEAL_NAMESPACE", async () => {
    const ns = testNamespace("cli-env");
    await new Store(redis, ns).registerAgent({ id: "e1", capabilities: [], concurrency: 1, priority: 0 });
    const viaEnv = await run(["agents", "--json"], {
      REDIS_URL: redisUrl,
      WORKSTEAL_REDIS_URL: "redis://127.0.0.1:1",
      WORKSTEAL_NAMESPACE: ns,
    });
    expect(viaEnv.code).toBe(0);
    expect((JSON.parse(viaEnv.stdout) as AgentView[]).map((a) => a.id)).toEqual(["e1"]);
    const viaWs = await run(["agents", "--json"], { WORKSTEAL_REDIS_URL: redisUrl, WORKSTEAL_NAMESPACE: ns });
    expect(viaWs.code).toBe(0);
    // --redis and --namespace win over the environment.
    const viaFlags = await run(inNs(ns, "agents", "--json"), { REDIS_URL: "redis://127.0.0.1:1", WORKSTEAL_NAMESPACE: "other" });
    expect((JSON.parse(viaFlags.stdout) as AgentView[]).map((a) => a.id)).toEqual(["e1"]);
  });

  it("a command Redis does not answer: one line, exit 2, after the command timeout", async () => {
    // A private server whose writes hang (CLIENT PAUSE ... WRITE): connecting and reading work,
    // the drain script gets no answer.
    const server = await startRedisServer({ appendOnly: false });
    const admin = new Redis(server.url);
    try {
      await new Store(admin, "paused").registerAgent({ id: "p1", capabilities: [], concurrency: 1, priority: 0 });
      await admin.client("PAUSE", 60_000, "WRITE");
      const result = await run(["agent", "drain", "p1", "--redis", server.url, "-n", "paused"]);
      expect(result).toEqual({ code: 2, stdout: "", stderr: `worksteal: Redis at ${server.url} did not answer within ${COMMAND_TIMEOUT_MS / 1000}s\n` });
    } finally {
      await admin.client("UNPAUSE");
      await admin.quit();
      await server.stop();
    }
  });

  it("bad settings from the environment name their source or field, exit 2", async () => {
    expect(await run(["status"], { REDIS_URL: "http://x" })).toEqual({
      code: 2,
      stdout: "",
      stderr: "worksteal: REDIS_URL: expected a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL\n",
    });
    const ns = await run(["status", "--redis", redisUrl], { WORKSTEAL_NAMESPACE: "bad ns" });
    expect(ns.code).toBe(2);
    expect(ns.stderr).toMatch(/^worksteal: invalid configuration: namespace: .*\n$/);
    const ttl = await run(["status", "--redis", redisUrl], { WORKSTEAL_AGENT_TTL_MS: "soon" });
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toMatch(/^worksteal: invalid configuration: agentTtlMs: /);
  });

  it("help, no command and bad arguments", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: worksteal <command>/);
    for (const word of [
      "status",
      "agents",
      "leader",
      "task <id>",
      "steals",
      "agent drain <id>",
      "--wait",
      "--timeout",
      "--redis",
      "--namespace",
      "--json",
      "--limit",
    ]) {
      expect(help.stdout).toContain(word);
    }
    expect((await run(["help"])).code).toBe(0);
    const none = await run([]);
    expect(none).toMatchObject({ code: 2, stdout: "" });
    expect(none.stderr).toMatch(/^Usage: worksteal/);
    for (const argv of [
      ["frobnicate"],
      ["status", "--nope"],
      ["steals", "--limit", "x"],
      ["status", "-n", "a:b"],
      ["status", "--redis", "nope"],
      ["leader", "x"],
      ["agent", "drain", "a:b"],
      ["agent", "drain"],
      ["status", "--wait"],
      ["steals", "--limit", "-1"],
      ["status", "--redis", "--json"],
    ]) {
      const bad = await run(argv);
      expect(bad.code, argv.join(" ")).toBe(2);
      expect(bad.stdout).toBe("");
      expect(bad.stderr).toMatch(/^worksteal: [^\n]+\n$/);
    }
  });

  it("an unreachable Redis is one line and exit 2", async () => {
    const { code, stdout, stderr } = await run(["status", "--redis", "redis://127.0.0.1:1"]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toMatch(/^worksteal: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
  });
});
