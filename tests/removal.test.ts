import { afterEach, describe, expect, it } from "vitest";
import { main } from "@worksteal/cli";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h.close();
});

/** Every key of the namespace (SCAN, never KEYS). */
async function namespaceKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await h.redis.scan(cursor, "MATCH", `ws:{${h.namespace}}*`, "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return keys;
}

/** Keys that belong to one agent: its hash, sets, workload and BullMQ queue. */
const keysOf = (keys: string[], agentId: string) =>
  keys.filter((k) => k.includes(`:agent:${agentId}`) || k.includes(`:workload:${agentId}`) || k.includes(`:q:agent.${agentId}:`));

async function ageHeartbeat(agentId: string, byMs: number): Promise<void> {
  await h.redis.hset(h.store.keys.agent(agentId), "lastHeartbeat", (await h.store.now()) - byMs);
}

/** Moves the fold cursor past everything appended so far, as if a coordinator had folded it (the removal waits for it). */
async function foldAll(): Promise<void> {
  const [newest] = (await h.redis.xrevrange(h.store.keys.events, "+", "-", "COUNT", 1)) as Array<[string, string[]]>;
  if (newest) await h.redis.hset(h.store.keys.foldCursor, "id", newest[0]);
}

async function cli(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(
    [...args, "--redis", h.config.redisUrl, "--namespace", h.namespace],
    {
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
    },
    {},
  );
  return { code, stdout, stderr };
}

describe("removing agents", () => {
  it("the script refuses an unknown agent, a live one, one holding tasks, and one with events still to fold", async () => {
    h = namespaceHarness("remove-refuse");
    expect(await h.store.removeAgent("nobody", 0)).toEqual({ removed: false, reason: "unknown" });
    await h.store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
    expect(await h.store.removeAgent("a1", 60_000)).toMatchObject({ removed: false, reason: "alive" });

    await h.client.submit({ id: "t1", agentId: "a1" });
    await ageHeartbeat("a1", 120_000);
    expect(await h.store.removeAgent("a1", 60_000)).toEqual({ removed: false, reason: "holds-tasks", queued: 1, running: 0 });

    // The task gone from its sets but its job still queued: refused too.
    await h.redis.srem(h.store.keys.queuedOf("a1"), "t1");
    expect(await h.store.removeAgent("a1", 60_000)).toEqual({ removed: false, reason: "has-jobs", jobs: 1 });
    await h.queues.get("a1").remove("t.t1.1");

    // Events about a1 (registration, assignment) not folded yet: a fold would bring its workload back.
    expect(await h.store.removeAgent("a1", 60_000)).toEqual({ removed: false, reason: "unfolded" });
    expect(await h.redis.sismember(h.store.keys.agents, "a1")).toBe(1);
    await foldAll();
    expect(await h.store.removeAgent("a1", 60_000)).toEqual({ removed: true });
    expect(await h.redis.sismember(h.store.keys.agents, "a1")).toBe(0);
    expect(await h.redis.exists(h.store.keys.agent("a1"), h.store.keys.workload("a1"), h.store.keys.queuedOf("a1"))).toBe(0);
  });

  it("the leader removes a dead agent that holds nothing after agentRetentionMs, its queue included, and keeps the others", async () => {
    h = namespaceHarness("remove-leader", { agentTtlMs: 500, heartbeatIntervalMs: 100, agentRetentionMs: 300, maintenanceIntervalMs: 100, stealInterval: 100 });
    await h.startReplica();
    const gone = await h.startAgentProcess("gone", { env: { WORKSTEAL_HEARTBEAT_INTERVAL_MS: "100" } });
    await h.startAgentProcess("keeper", { env: { WORKSTEAL_HEARTBEAT_INTERVAL_MS: "100" } });
    // Work on both, so that `gone` has a BullMQ queue with finished jobs and a folded workload.
    for (let i = 0; i < 4; i++) await h.client.submit({ id: `t${i}`, agentId: i % 2 === 0 ? "gone" : "keeper", payload: { ms: 1 } });
    for (let i = 0; i < 4; i++) await h.client.waitFor(`t${i}`, { timeoutMs: 15_000 });
    expect(keysOf(await namespaceKeys(), "gone").length).toBeGreaterThan(3);

    gone.kill("SIGKILL");
    await gone.exited;
    await eventually(async () => expect(await h.redis.sismember(h.store.keys.agents, "gone")).toBe(0), { timeoutMs: 15_000 });
    await eventually(async () => expect(keysOf(await namespaceKeys(), "gone")).toEqual([]));
    expect(await h.redis.sismember(h.store.keys.agents, "keeper")).toBe(1);
    expect(keysOf(await namespaceKeys(), "keeper").length).toBeGreaterThan(0);
    expect(Number(await h.redis.hget(h.store.keys.metrics, "maintenance.agents_removed"))).toBe(1);

    // An agent that comes back under a removed id simply registers again.
    await h.startAgentProcess("gone", { env: { WORKSTEAL_HEARTBEAT_INTERVAL_MS: "100" } });
    await h.client.submit({ id: "again", agentId: "gone", payload: { ms: 1 } });
    expect((await h.client.waitFor("again", { timeoutMs: 15_000 })).state).toBe("done");
  });

  it("worksteal agent remove: refuses a live agent or one holding tasks (exit 1), removes a dead empty one", async () => {
    h = namespaceHarness("remove-cli");
    await h.store.registerAgent({ id: "live", capabilities: [], concurrency: 1, priority: 0 });
    await h.store.registerAgent({ id: "holder", capabilities: [], concurrency: 1, priority: 0 });
    await h.store.registerAgent({ id: "dead", capabilities: [], concurrency: 1, priority: 0 });
    await h.client.submit({ id: "held", agentId: "holder" });
    await h.client.submit({ id: "was-on-dead", agentId: "dead" });
    // As if the reaper had moved the dead agent's task away and its job had finished.
    await h.redis.srem(h.store.keys.queuedOf("dead"), "was-on-dead");
    await h.queues.get("dead").remove("t.was-on-dead.1");
    await ageHeartbeat("holder", 3_600_000);
    await ageHeartbeat("dead", 3_600_000);
    await foldAll();

    const live = await cli("agent", "remove", "live");
    expect(live.code).toBe(1);
    expect(live.stderr).toMatch(/^worksteal: agent live is alive \(heartbeat .* ago, within 15000ms\): stop it first/);
    const holder = await cli("agent", "remove", "holder");
    expect(holder.code).toBe(1);
    expect(holder.stderr).toMatch(/agent holder still holds 1 queued and 0 running tasks/);
    const unknown = await cli("agent", "remove", "nobody");
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 1, stderr: "worksteal: agent nobody is not registered\n" });
    expect((await cli("agent", "remove")).code).toBe(2);

    expect(await cli("agent", "remove", "dead", "--json")).toEqual({ code: 0, stdout: `${JSON.stringify({ agentId: "dead", removed: true })}\n`, stderr: "" });
    expect(keysOf(await namespaceKeys(), "dead")).toEqual([]);
    expect(await h.redis.smembers(h.store.keys.agents).then((ids) => ids.sort())).toEqual(["holder", "live"]);
  });

  it("the leader forgets replicas without a heartbeat and their roles", async () => {
    h = namespaceHarness("remove-replicas", { leaseTtlMs: 300, heartbeatIntervalMs: 100, agentTtlMs: 1000, maintenanceIntervalMs: 100, foldLeaseMs: 200 });
    const replica = await h.startReplica();
    const k = h.store.keys;
    const now = await h.store.now();
    // Replicas that crashed: a stale heartbeat, and a role without a heartbeat.
    await h.redis.hset(k.replicas, "crashed", now - 60_000);
    await h.redis.hset(k.replicaRoles, "crashed", "follower", "never-beat", "leader:1");

    await eventually(async () => {
      expect(Object.keys(await h.redis.hgetall(k.replicas))).toEqual([replica.id]);
      expect(Object.keys(await h.redis.hgetall(k.replicaRoles))).toEqual([replica.id]);
    });
    // Folding goes on: a new event is folded.
    await h.store.registerAgent({ id: "late", capabilities: [], concurrency: 1, priority: 0 });
    // Heartbeats append no event (their figures go straight to the agent hash): an agent of an earlier version's metrics event stands in.
    await h.redis.xadd(k.events, "*", "event", JSON.stringify({ kind: "agent:metrics", agentId: "late", cpu: 12, memoryMb: 34, at: await h.store.now() }));
    await eventually(async () => expect(await h.redis.hget(k.workload("late"), "cpu")).toBe("12"));
    expect(Number(await h.redis.hget(k.metrics, "maintenance.replicas_forgotten"))).toBe(1);
  });
});
