import { afterEach, describe, expect, it } from "vitest";
import { main, type Io } from "@worksteal/cli";
import { Replica } from "@worksteal/coordinator";
import { EVENT_FIELD, jobIdFor, keysFor, resolveConfig } from "@worksteal/protocol";
import { Store } from "@worksteal/store";
import { eventually, freePort, spawnNode, startRedisServer, testNamespace } from "@worksteal/testkit";
import { Redis } from "ioredis";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process against `redisUrl` and `namespace`. */
async function cli(target: { redisUrl: string; namespace: string }, argv: string[], io: Partial<Io> = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(
    [...argv, "--redis", target.redisUrl, "--namespace", target.namespace],
    { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), ...io },
    {},
  );
  return { code, stdout, stderr };
}

const target = (harness: Harness) => ({ redisUrl: harness.config.redisUrl, namespace: harness.namespace });

/** `--json` output that must be exactly one JSON document. */
function json<T>(run: Run): T {
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  expect(run.stdout.trim().split("\n")).toHaveLength(1);
  return JSON.parse(run.stdout) as T;
}

/** Fleets of agent processes are slow to get going on a busy machine: outcomes are awaited, not timed. */
const CLI_PATIENCE = { timeoutMs: 60_000, intervalMs: 200 };

interface TaskRow {
  id: string;
  owner: string;
  state: string;
  type: string;
}

// Each test starts a fleet and runs a dozen commands: on a loaded CI machine that outlasts the 30 s default.
describe("the CLI's commands against a running fleet", { timeout: 120_000 }, () => {
  it("tasks lists by state, agent and type, page by page; queues shows BullMQ's counts per agent", async () => {
    // A Redis of its own: listings page through SCAN, and with only this test's keys a page's
    // contents do not depend on what other test files write meanwhile.
    const server = await startRedisServer();
    try {
      h = namespaceHarness("cli-cmds", { enabled: false, redisUrl: server.url });
      const fleet = h;
      await fleet.startReplica();
      await fleet.startAgentProcess("a1", { concurrency: 2 });
      // Registered and alive, but runs nothing: what is sent to it waits in its queue.
      await fleet.registerAgent("idle");
      for (let i = 0; i < 12; i++) await fleet.client.submit({ id: `done${i}`, agentId: "a1", type: i % 2 === 0 ? "even" : "odd", payload: { ms: 1 } });
      for (let i = 0; i < 3; i++) await fleet.client.submit({ id: `wait${i}`, agentId: "idle" });
      // A page may end before the scan does (a bounded number of SCAN calls over a Redis that other
      // tests fill too): every listing below follows the cursor to the end.
      const everyPage = async (filter: string[]) => {
        const rows = new Map<string, TaskRow>();
        for (let cursor = "0", pages = 0; pages < 1000; pages++) {
          const page = json<{ tasks: TaskRow[]; next: string | null }>(await cli(target(fleet), ["tasks", ...filter, "--cursor", cursor, "--json"]));
          for (const row of page.tasks) rows.set(row.id, row);
          if (page.next === null) break;
          cursor = page.next;
        }
        return [...rows.values()];
      };
      await eventually(async () => {
        const done = await everyPage(["--state", "done", "--limit", "100"]);
        expect(done.map((t) => t.id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `done${i}`).sort());
      }, CLI_PATIENCE);

      const queued = await everyPage(["--agent", "idle"]);
      expect(queued.map((t) => [t.id, t.state, t.owner]).sort()).toEqual([
        ["wait0", "queued", "idle"],
        ["wait1", "queued", "idle"],
        ["wait2", "queued", "idle"],
      ]);
      const odd = await everyPage(["--type", "odd"]);
      expect(odd).toHaveLength(6);
      expect(odd.every((t) => t.type === "odd" && t.state === "done")).toBe(true);

      // Pages of about 4, following the cursor: every task, none skipped (SCAN may repeat a key across pages).
      const seen = new Set<string>();
      let cursor = "0";
      let pages = 0;
      while (pages < 1000) {
        pages += 1;
        const page = json<{ tasks: TaskRow[]; next: string | null }>(await cli(target(fleet), ["tasks", "--limit", "4", "--cursor", cursor, "--json"]));
        page.tasks.forEach((t) => seen.add(t.id));
        if (page.next === null) break;
        cursor = page.next;
      }
      expect(seen.size).toBe(15);
      expect(pages).toBeGreaterThan(1);

      const text = await cli(target(fleet), ["tasks", "--agent", "idle"]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^ID\s+TYPE\s+STATE\s+OWNER\s+EPOCH\s+ATTEMPTS\s+UPDATED$/m);
      expect(text.stdout).toMatch(/^wait0\s+default\s+queued\s+idle\s+1\s+0\s+\S+ ago$/m);
      expect((await cli(target(fleet), ["tasks", "--type", "none"])).stdout).toMatch(/^no matching tasks in namespace/);

      // A job leaves BullMQ (removed as it completes) just after its task's record says done: awaited, not assumed.
      await eventually(async () => {
        const queues = json<Array<{ agentId: string; waiting: number; active: number; delayed: number }>>(await cli(target(fleet), ["queues", "--json"]));
        expect(queues).toEqual([
          { agentId: "a1", waiting: 0, active: 0, delayed: 0 },
          { agentId: "idle", waiting: 3, active: 0, delayed: 0 },
        ]);
      }, CLI_PATIENCE);
      expect((await cli(target(fleet), ["queues"])).stdout).toMatch(/^idle\s+3\s+0\s+0$/m);
    } finally {
      await h?.close();
      h = undefined;
      await server.stop();
    }
  });

  it("events tail shows the latest events by kind, and --follow prints new ones until Ctrl-C", async () => {
    h = namespaceHarness("cli-events", { enabled: false });
    const fleet = h;
    await fleet.startReplica();
    await fleet.registerAgent("idle");
    // Cancelled while queued: one task:cancelled each.
    for (let i = 0; i < 3; i++) {
      await fleet.client.submit({ id: `t${i}`, agentId: "idle" });
      await fleet.client.cancel(`t${i}`);
    }

    const lines = await cli(target(fleet), ["events", "tail", "--kind", "task:cancelled", "--limit", "2", "--json"]);
    expect(lines.code).toBe(0);
    const entries = lines.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; event: { kind: string; taskId: string } });
    expect(entries.map((e) => [e.event.kind, e.event.taskId])).toEqual([
      ["task:cancelled", "t1"],
      ["task:cancelled", "t2"],
    ]);
    // By kind: the idle agent's heartbeats append agent:metrics events meanwhile.
    expect((await cli(target(fleet), ["events", "tail", "--kind", "task:cancelled", "--limit", "1"])).stdout).toMatch(
      /^\d+-\d+\s+[\d:.]+Z\s+task:cancelled\s+\{"taskId":"t2"/,
    );

    const follow = spawnNode("packages/cli/src/bin.ts", [
      "events",
      "tail",
      "-f",
      "--kind",
      "task:cancelled",
      "--limit",
      "1",
      "--redis",
      fleet.config.redisUrl,
      "-n",
      fleet.namespace,
    ]);
    await follow.waitForLine((l) => l.text.includes('"taskId":"t2"'), 30_000);
    await fleet.client.submit({ id: "later", agentId: "idle" });
    await fleet.client.cancel("later");
    await follow.waitForLine((l) => l.text.includes('"taskId":"later"'), 30_000);
    follow.kill("SIGINT");
    expect(await follow.exited).toEqual({ code: 0, signal: null });
    expect(follow.lines.map((l) => l.text.split(/\s+/)[2])).toEqual(["task:cancelled", "task:cancelled"]);
    expect(follow.stderr()).toBe("");
  });

  it("dlq lists, shows, replays only what now parses, and drops dead letters", async () => {
    h = namespaceHarness("cli-dlq", { enabled: false });
    const fleet = h;
    await fleet.startReplica();
    const k = fleet.store.keys;
    // A malformed entry: the replica folds it into a dead letter.
    const sourceId = (await fleet.redis.xadd(k.events, "*", EVENT_FIELD, "{not json"))!;
    const letters = await eventually(async () => {
      const list = json<Array<{ id: string; sourceId: string; reason: string; fieldCount: number; fields: string[] }>>(
        await cli(target(fleet), ["dlq", "list", "--json"]),
      );
      expect(list).toHaveLength(1);
      return list;
    }, CLI_PATIENCE);
    const letter = letters[0]!;
    expect(letter).toMatchObject({ sourceId, fieldCount: 1, fields: [EVENT_FIELD, "{not json"] });
    expect(letter.reason).toMatch(/^bad JSON/);
    expect(json(await cli(target(fleet), ["dlq", "show", letter.id, "--json"]))).toEqual(letter);
    const shown = await cli(target(fleet), ["dlq", "show", letter.id]);
    expect(shown.stdout).toMatch(/^reason\s+bad JSON/m);
    expect(shown.stdout).toMatch(/^ {2}event\s+\{not json$/m);
    expect((await cli(target(fleet), ["dlq", "list"])).stdout).toMatch(new RegExp(`^${letter.id}\\s+\\S+ \\S+\\s+${sourceId}\\s+bad JSON`, "m"));

    const refused = await cli(target(fleet), ["dlq", "replay", letter.id]);
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr).toMatch(new RegExp(`^worksteal: dead letter ${letter.id} not replayed: it still does not parse: bad JSON[^\\n]*\\n$`));

    // A dead letter whose entry parses today (as after a parser fix): replayed into the stream, and gone from the dead letters.
    const event = JSON.stringify({ kind: "agent:heartbeat", agentId: "ghost", at: Date.now() });
    const parsable = (await fleet.redis.xadd(k.deadLetter, "*", "sourceId", "1-0", "reason", "old parser", "fieldCount", "1", EVENT_FIELD, event))!;
    const replay = json<{ id: string; replayed: true; eventId: string }>(await cli(target(fleet), ["dlq", "replay", parsable, "--json"]));
    expect(replay).toMatchObject({ id: parsable, replayed: true });
    expect(await fleet.redis.xrange(k.events, replay.eventId, replay.eventId)).toEqual([[replay.eventId, [EVENT_FIELD, event]]]);
    expect(await fleet.redis.xrange(k.deadLetter, parsable, parsable)).toEqual([]);

    expect(json(await cli(target(fleet), ["dlq", "drop", letter.id, "--json"]))).toEqual({ id: letter.id, dropped: true });
    for (const action of ["show", "drop", "replay"]) {
      expect(await cli(target(fleet), ["dlq", action, letter.id])).toEqual({ code: 1, stdout: "", stderr: `worksteal: dead letter ${letter.id} not found\n` });
    }
  });

  it("watch prints one frame when stdout is no terminal, and redraws in place on one until q", async () => {
    h = namespaceHarness("cli-watch", { enabled: false });
    const fleet = h;
    await fleet.startReplica();
    await fleet.registerAgent("idle", { concurrency: 2 });
    for (let i = 0; i < 3; i++) await fleet.client.submit({ id: `t${i}`, agentId: "idle" });
    await eventually(async () => {
      const frame = json<{ status: { agents: Array<{ id: string; workload: { queued: number } }>; leader: { lease: unknown } }; stealsLastMinute: number }>(
        await cli(target(fleet), ["watch", "--json"]),
      );
      expect(frame.status.agents.map((a) => [a.id, a.workload.queued])).toEqual([["idle", 3]]);
      expect(frame.status.leader.lease).not.toBeNull();
      expect(frame.stealsLastMinute).toBe(0);
    }, CLI_PATIENCE);
    const once = await cli(target(fleet), ["watch"]);
    expect(once.code).toBe(0);
    expect(once.stdout).not.toContain("\x1b[");
    expect(once.stdout).toMatch(/^steals\s+0 in the last minute/m);
    expect(once.stdout).toMatch(/^idle\s+alive\s+2\s+0\s+3\s+▒{9}·{21}$/m);

    // On a terminal: frames drawn from the top of the screen, each line cleared to its end; q ends it.
    let press: (key: string) => void = () => undefined;
    let frames = 0;
    let out = "";
    const pending = cli(target(fleet), ["watch", "--interval", "0.1"], {
      stdout: (s) => {
        out += s;
        if (s.startsWith("\x1b[H") && ++frames === 3) press("q");
      },
      terminal: {
        columns: () => 40,
        onKey: (listener) => {
          press = listener;
          return () => undefined;
        },
      },
    });
    const run = await pending;
    expect(run.code).toBe(0);
    expect(frames).toBe(3);
    expect(out.startsWith("\x1b[?25l\x1b[2J\x1b[H")).toBe(true);
    expect(out.endsWith("\x1b[J\x1b[?25h")).toBe(true);
    // Cut to the terminal's width.
    const ESC = String.fromCharCode(27);
    for (const line of out.split("\n")) expect(line.replaceAll(new RegExp(`${ESC}\\[[?\\d]*[A-Za-z]`, "g"), "").length).toBeLessThanOrEqual(40);
  });
});

describe("doctor", () => {
  it("a private Redis evicting keys without persistence: says what to fix, exit 1", async () => {
    const server = await startRedisServer({ appendOnly: false, args: ["--maxmemory-policy", "allkeys-lru", "--save", ""] });
    try {
      const at = { redisUrl: server.url, namespace: testNamespace("doctor") };
      const run = await cli(at, ["doctor", "--json"]);
      expect(run.code).toBe(1);
      const report = JSON.parse(run.stdout) as { healthy: boolean; findings: Array<{ check: string; verdict: string; detail: string; fix?: string }> };
      expect(report.healthy).toBe(false);
      const byCheck = Object.fromEntries(report.findings.map((f) => [f.check, f]));
      expect(byCheck["maxmemory-policy"]).toMatchObject({ verdict: "fail", detail: "allkeys-lru" });
      expect(byCheck["maxmemory-policy"]!.fix).toMatch(/noeviction/);
      expect(byCheck.persistence).toMatchObject({ verdict: "fail" });
      expect(byCheck["redis version"]!.verdict).not.toBe("fail");
      expect(byCheck.replicas).toMatchObject({ verdict: "fail" });

      const text = await cli(at, ["doctor"]);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^maxmemory-policy\s+FAIL\s+allkeys-lru$/m);
      expect(text.stdout).toMatch(/^To fix:$/m);
      expect(text.stdout).toMatch(/^ {2}- maxmemory-policy: set maxmemory-policy noeviction/m);
    } finally {
      await server.stop();
    }
  });

  it("a well-set Redis with a leading coordinator: healthy, exit 0", async () => {
    const server = await startRedisServer({ appendOnly: true });
    const namespace = testNamespace("doctor");
    const replica = new Replica({ config: resolveConfig({ overrides: { redisUrl: server.url, namespace, logLevel: "silent", heartbeatIntervalMs: 200 } }) });
    try {
      await replica.start();
      const run = await eventually(async () => {
        const result = await cli({ redisUrl: server.url, namespace }, ["doctor", "--json"]);
        expect(result.stdout).toContain('"healthy":true');
        return result;
      }, CLI_PATIENCE);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as { findings: Array<{ check: string; verdict: string }> };
      expect(report.findings.filter((f) => f.verdict === "fail")).toEqual([]);
      expect(report.findings.map((f) => f.check)).toEqual([
        "redis version",
        "maxmemory-policy",
        "persistence",
        "maxclients",
        "replicas",
        "leader",
        "fold",
        "clocks",
        "stuck tasks",
        "unknown agents",
      ]);
    } finally {
      await replica.stop();
      await server.stop();
    }
  });

  it("finds a running task nobody holds a lock for, an unknown agent holding tasks, and events refused for their time", async () => {
    const server = await startRedisServer({ appendOnly: true });
    const redis = new Redis(server.url);
    try {
      const namespace = testNamespace("doctor");
      const k = keysFor(namespace);
      const store = new Store(redis, namespace);
      await store.registerAgent({ id: "a1", capabilities: [], concurrency: 1, priority: 0 });
      const [seconds] = await redis.time();
      const longAgo = Number(seconds) * 1000 - 60_000;
      // What a crash between claim and lock would leave: running on a1, no BullMQ lock.
      await redis.hset(k.task("orphan"), { id: "orphan", owner: "a1", state: "running", epoch: 1, updatedAt: longAgo });
      await redis.sadd(k.runningOf("a1"), "orphan");
      // A running task whose lock is held is not stuck.
      await redis.hset(k.task("busy"), { id: "busy", owner: "a1", state: "running", epoch: 2, updatedAt: longAgo });
      await redis.sadd(k.runningOf("a1"), "busy");
      await redis.set(`${k.agentQueueKeys("a1")}${jobIdFor("busy", 2)}:lock`, "token");
      await redis.sadd(k.queuedOf("ghost"), "g1", "g2");
      await redis.xadd(k.deadLetter, "*", "sourceId", "1-0", "reason", "event time is 90000 ms ahead of the Redis clock", "fieldCount", "0");

      const run = await cli({ redisUrl: server.url, namespace }, ["doctor", "--json", "--stuck-after", "30"]);
      expect(run.code).toBe(1);
      const byCheck = Object.fromEntries(
        (JSON.parse(run.stdout) as { findings: Array<{ check: string; verdict: string; detail: string }> }).findings.map((f) => [f.check, f]),
      );
      expect(byCheck["stuck tasks"]).toMatchObject({ verdict: "fail" });
      expect(byCheck["stuck tasks"]!.detail).toMatch(/^1 running with no job lock past 30\.0s: orphan on a1 \(1m\d\ds\)$/);
      expect(byCheck["unknown agents"]).toMatchObject({ verdict: "fail", detail: "not registered, yet holding tasks: ghost (2)" });
      expect(byCheck.clocks).toMatchObject({ verdict: "fail" });
      expect(byCheck.clocks!.detail).toMatch(/^1 of the last 1 dead letters were refused for their time/);
      // Past its bound no longer: nothing is stuck.
      const later = JSON.parse((await cli({ redisUrl: server.url, namespace }, ["doctor", "--json", "--stuck-after", "3600"])).stdout) as {
        findings: Array<{ check: string; verdict: string }>;
      };
      expect(later.findings.find((f) => f.check === "stuck tasks")).toMatchObject({ verdict: "ok" });
    } finally {
      await redis.quit();
      await server.stop();
    }
  });
});

describe("the new commands' error paths", () => {
  it("an unreachable Redis: one line and exit 2 for every command", async () => {
    const at = { redisUrl: `redis://127.0.0.1:${await freePort()}`, namespace: "x" };
    for (const argv of [["tasks"], ["queues"], ["events", "tail"], ["dlq", "list"], ["dlq", "replay", "1-0"], ["doctor"], ["watch"]]) {
      const run = await cli(at, argv);
      expect({ argv, code: run.code, stdout: run.stdout }).toEqual({ argv, code: 2, stdout: "" });
      expect(run.stderr).toMatch(/^worksteal: cannot reach Redis at [^\n]+\n$/);
    }
  });
});
