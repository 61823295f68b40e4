import { afterEach, describe, expect, it } from "vitest";
import { main } from "@worksteal/cli";
import type { AgentView } from "@worksteal/protocol";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h.close();
});

async function cliJson(harness: Harness, ...argv: string[]): Promise<unknown> {
  let stdout = "";
  const code = await main([...argv, "--json", "--redis", harness.config.redisUrl, "--namespace", harness.namespace], {
    stdout: (s) => void (stdout += s),
    stderr: () => undefined,
  });
  expect(code).toBe(0);
  return JSON.parse(stdout);
}

/** Per agent, the number of task records in each state: the truth the folded figures must reach. */
async function countsFromRecords(harness: Harness, ids: string[]) {
  const counts: Record<string, { queued: number; running: number; done: number; failed: number }> = {};
  for (const id of ids) {
    const record = (await harness.store.getTask(id))!;
    // This fleet cancels nothing; a cancelled task has no per-agent figure to agree with.
    if (record.state === "cancelled") throw new Error(`task ${id} was cancelled`);
    counts[record.owner] ??= { queued: 0, running: 0, done: 0, failed: 0 };
    counts[record.owner]![record.state] += 1;
  }
  return counts;
}

describe("the CLI on a running fleet", () => {
  it("status and agents agree with the task records once the fleet is quiet", async () => {
    // No stealing, so that a3's queue (its process never started) stays as it is.
    h = namespaceHarness("cli", { enabled: false });
    await h.startReplica();
    await h.startAgentProcess("a1", { concurrency: 2 });
    await h.startAgentProcess("a2");
    await h.store.registerAgent({ id: "a3", capabilities: [], concurrency: 1, priority: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await h.client.submit({ id: `q${i}`, agentId: "a1", payload: { ms: 5 } })).taskId);
    ids.push((await h.client.submit({ id: "long", agentId: "a2", payload: { ms: 60_000 } })).taskId);
    for (let i = 0; i < 4; i++) ids.push((await h.client.submit({ id: `w${i}`, agentId: "a3" })).taskId);

    let expected: Awaited<ReturnType<typeof countsFromRecords>> = {};
    await eventually(
      async () => {
        expected = await countsFromRecords(h, ids);
        expect(expected).toEqual({
          a1: { queued: 0, running: 0, done: 30, failed: 0 },
          a2: { queued: 0, running: 1, done: 0, failed: 0 },
          a3: { queued: 4, running: 0, done: 0, failed: 0 },
        });
        const agents = (await cliJson(h, "agents")) as AgentView[];
        const folded = Object.fromEntries(
          agents.map((a) => [a.id, { queued: a.workload.queued, running: a.workload.running, done: a.workload.done, failed: a.workload.failed }]),
        );
        expect(folded).toEqual(expected);
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );

    const status = (await cliJson(h, "status")) as { tasks: Record<string, number>; agentCounts: Record<string, number> };
    expect(status.tasks).toMatchObject({ queued: 4, running: 1, done: 30, failed: 0, unassigned: 0 });
    expect(status.agentCounts).toMatchObject({ total: 3 });
  });
});
