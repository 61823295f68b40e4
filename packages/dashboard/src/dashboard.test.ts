import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { TaskSpecSchema } from "@worksteal/protocol";
import { readAgentStatus, recordSteal, Store } from "@worksteal/store";
import { eventually, freePort, testNamespace } from "@worksteal/testkit";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { ACTION_HEADER, createDashboard, type Dashboard, DASHBOARD_PREFIX, isDashboardPath, type Snapshot } from "./index.js";

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

/** A namespace with two agents, and its dashboard on a server of its own (as a replica mounts it). */
async function serve(actions: boolean, intervalMs = 100): Promise<{ store: Store; url: string }> {
  const redis = new Redis(inject("redisUrl"));
  const store = new Store(redis, testNamespace("dashboard"));
  for (const id of ["a1", "a2"]) await store.registerAgent({ id, capabilities: id === "a1" ? ["gpu"] : [], concurrency: 2, priority: 0 });
  const dashboard: Dashboard = createDashboard({ store, agentTtlMs: 60_000, actions, intervalMs });
  const server: Server = createServer((request, response) => {
    if (isDashboardPath(request.url)) dashboard.handle(request, response);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () => redis.quit(),
    () => Promise.resolve(dashboard.close()),
    () => new Promise((resolve) => server.close(resolve)),
  );
  const { port } = server.address() as AddressInfo;
  return { store, url: `http://127.0.0.1:${port}${DASHBOARD_PREFIX}` };
}

/** Opens the event stream and reads `count` snapshots from it. */
async function readStream(url: string, count: number): Promise<Snapshot[]> {
  const response = await fetch(`${url}/api/stream`);
  expect(response.headers.get("content-type")).toBe("text/event-stream");
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  const events: Snapshot[] = [];
  while (events.length < count) {
    const chunk = await reader.read();
    expect(chunk.done).toBe(false);
    text += decoder.decode(chunk.value, { stream: true });
    const frames = text.split("\n\n");
    text = frames.pop()!;
    for (const frame of frames) events.push(JSON.parse(frame.replace(/^data: /, "")) as Snapshot);
  }
  await reader.cancel();
  return events.slice(0, count);
}

async function snapshot(url: string): Promise<Snapshot> {
  const response = await fetch(`${url}/api/snapshot`);
  expect(response.status).toBe(200);
  return (await response.json()) as Snapshot;
}

/** A real dead letter: an entry folding refuses, folded as refused (the entries before it are passed over). */
async function deadLetter(store: Store): Promise<string> {
  const { id: after } = await store.foldCursor();
  const id = (await store.redis.xadd(store.keys.events, "*", "event", JSON.stringify({ kind: "agent:heartbeat", agentId: "a1", at: Date.now() })))!;
  await store.fold([{ id, dead: "refused by the test" }], after);
  return id;
}

const post = (url: string, headers: Record<string, string> = { [ACTION_HEADER]: "1" }) => fetch(url, { method: "POST", headers });

describe("dashboard", () => {
  it("serves the page, its script and uPlot from the package; anything else is 404", async () => {
    const { url } = await serve(false);
    const page = await fetch(`${url}/`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    const uplot = await fetch(`${url}/vendor/uPlot.esm.js`);
    expect(uplot.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await uplot.text()).toContain("export { uPlot as default }");
    expect((await fetch(`${url}/%2e%2e/package.json`)).status).toBe(404);
    expect((await fetch(`${url}/nope.js`)).status).toBe(404);
    const bare = await fetch(url, { redirect: "manual" });
    expect([bare.status, bare.headers.get("location")]).toEqual([308, `${DASHBOARD_PREFIX}/`]);
  });

  it("shows the agents, the steals and the dead letters as Redis has them", async () => {
    const { store, url } = await serve(false);
    const now = await store.now();
    await recordSteal(
      store,
      {
        directiveId: "d-1",
        fence: 1,
        source: "a1",
        target: "a2",
        requested: 3,
        taskIds: ["t1", "t2"],
        status: "partial",
        reason: "a2 idle",
        detail: "",
        startedAt: now,
        finishedAt: now,
      },
      60_000,
    );
    const sourceId = await deadLetter(store);
    await eventually(async () => {
      const s = await snapshot(url);
      expect(s.agents.map((a) => [a.id, a.status, a.capabilities])).toEqual([
        ["a1", "alive", ["gpu"]],
        ["a2", "alive", []],
      ]);
      expect(s.steals).toEqual([expect.objectContaining({ directiveId: "d-1", source: "a1", target: "a2", moved: 2, requested: 3, reason: "a2 idle" })]);
      expect(s.deadLetters).toEqual([expect.objectContaining({ sourceId, reason: "refused by the test" })]);
      expect(s.actions).toBe(false);
    });
  });

  it("answers the snapshot with 503 and the reason while Redis cannot be read", async () => {
    // A connection to a port nobody listens on, which gives up at once.
    const redis = new Redis({ port: await freePort(), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on("error", () => undefined);
    const dashboard = createDashboard({ store: new Store(redis, testNamespace("dashboard-down")), agentTtlMs: 60_000, actions: false, intervalMs: 100 });
    closers.push(() => Promise.resolve(dashboard.close()));
    const server = createServer((request, response) => dashboard.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as AddressInfo;
    await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${port}${DASHBOARD_PREFIX}/api/snapshot`);
      expect([response.status, await response.json()]).toEqual([503, { error: "Connection is closed." }]);
    });
  });

  it("streams snapshots as server-sent events", async () => {
    const { url } = await serve(false);
    const events = await readStream(url, 2);
    expect(events.map((e) => e.agents.length)).toEqual([2, 2]);
    expect(events[1]!.at).toBeGreaterThan(events[0]!.at);
  });

  it("reads Redis once per snapshot, whatever the number of pages streaming it", async () => {
    // A 1 s interval: four pages opened at once subscribe within one interval even on a loaded machine.
    const { store, url } = await serve(false, 1000);
    // Every snapshot lists the agents with one SMEMBERS on the store's connection (the feed starts at the first request).
    // A spy, not MONITOR: ioredis' monitor mode loses track of replies on a busy shared Redis.
    const smembers = vi.spyOn(store.redis, "smembers");
    const reads = () => smembers.mock.calls.filter(([key]) => key === store.keys.agents).length;
    const streams = await Promise.all([1, 2, 3, 4].map(() => readStream(url, 3)));
    const distinct = new Set(streams.flat().map((snapshot) => snapshot.at));
    // Pages opened within an interval of each other get the same snapshots: one read each
    // (a read per page would make twelve), plus the read in flight when counting stops.
    // One snapshot more than the three read is allowed for a page that subscribed an interval late.
    expect(distinct.size).toBeLessThanOrEqual(5);
    expect(reads()).toBeGreaterThan(0);
    expect(reads()).toBeLessThanOrEqual(distinct.size + 2);
  });

  it("looks a task up by id", async () => {
    const { store, url } = await serve(false);
    await store.submit(TaskSpecSchema.parse({ id: "look-me-up", type: "resize" }), "a1");
    const found = await fetch(`${url}/api/tasks/look-me-up`);
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({ id: "look-me-up", type: "resize", owner: "a1", state: "queued" });
    expect((await fetch(`${url}/api/tasks/never-submitted`)).status).toBe(404);
    expect((await fetch(`${url}/api/tasks/${encodeURIComponent("no spaces")}`)).status).toBe(400);
    expect((await fetch(`${url}/api/tasks/%E0%A4%A`)).status).toBe(400);
  });

  it("refuses every action while actions are off", async () => {
    const { store, url } = await serve(false);
    await deadLetter(store);
    const [[letterId]] = (await store.redis.xrange(store.keys.deadLetter, "-", "+")) as [[string, string[]]];
    const drain = await post(`${url}/api/agents/a1/drain`);
    expect([drain.status, ((await drain.json()) as { error: string }).error]).toEqual([403, expect.stringContaining("dashboardActions")]);
    expect((await post(`${url}/api/dead-letters/${letterId}/replay`)).status).toBe(403);
    expect(await readAgentStatus(store, "a1", 60_000)).toBe("alive");
    expect(await store.redis.xlen(store.keys.deadLetter)).toBe(1);
  });

  it("drains an agent and replays a dead letter when actions are on, with the action header only", async () => {
    const { store, url } = await serve(true);
    expect((await post(`${url}/api/agents/a1/drain`, {})).status).toBe(403);
    expect((await post(`${url}/api/agents/a1/drain`)).status).toBe(200);
    expect(await readAgentStatus(store, "a1", 60_000)).toBe("draining");
    expect((await post(`${url}/api/agents/nobody/drain`)).status).toBe(404);

    await deadLetter(store);
    const [[letterId]] = (await store.redis.xrange(store.keys.deadLetter, "-", "+")) as [[string, string[]]];
    const replay = await post(`${url}/api/dead-letters/${letterId}/replay`);
    expect(replay.status).toBe(200);
    const { eventId } = (await replay.json()) as { eventId: string };
    expect(await store.redis.xlen(store.keys.deadLetter)).toBe(0);
    expect((await store.redis.xrange(store.keys.events, eventId, eventId))[0]![1][0]).toBe("event");
    expect((await post(`${url}/api/dead-letters/${letterId}/replay`)).status).toBe(404);
    expect((await post(`${url}/api/dead-letters/not-an-id/replay`)).status).toBe(400);
  });
});
