import { afterEach, describe, expect, it } from "vitest";
import { main } from "@worksteal/cli";
import { eventually } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function cli(harness: Harness, argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(
    [...argv, "--redis", harness.config.redisUrl, "--namespace", harness.namespace],
    { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) },
    {},
  );
  return { code, stdout, stderr };
}

describe("worksteal task", () => {
  it("shows the attempt, the last error and the next run of a task waiting out its backoff", async () => {
    h = namespaceHarness("cli-opts");
    await h.registerAgent("a1");
    await h.client.submit({ id: "r1", agentId: "a1", maxAttempts: 3, backoff: { type: "fixed", delayMs: 60_000 } });
    await h.store.claim("r1", "a1", 1);
    await h.store.finish("r1", "a1", 1, "retry", "disk full", 60_000, 60_000);
    const shown = await cli(h, ["task", "r1"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^attempt\s+1$/m);
    expect(shown.stdout).toMatch(/^last error\s+disk full$/m);
    expect(shown.stdout).toMatch(/^next run\s+\d+ \(/m);
    expect(shown.stdout).toMatch(/^state\s+queued$/m);
  });

  it("task cancel <id> cancels a queued task; an unknown one exits 1; a bad id is a usage error", async () => {
    h = namespaceHarness("cli-cancel");
    await h.registerAgent("a1");
    await h.client.submit({ id: "c1", agentId: "a1" });
    const cancelled = await cli(h, ["task", "cancel", "c1", "--json"]);
    expect(cancelled).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(cancelled.stdout)).toEqual({ taskId: "c1", outcome: "cancelled" });
    expect((await cli(h, ["task", "c1"])).stdout).toMatch(/^state\s+cancelled$/m);
    // The listing is a SCAN: a page may hold none of the namespace's tasks, so follow the cursor.
    const listedIds: string[] = [];
    let cursor: string | null = "0";
    do {
      const listed = await cli(h, ["tasks", "--state", "cancelled", "--json", "--cursor", cursor]);
      expect(listed.code).toBe(0);
      const page = JSON.parse(listed.stdout) as { tasks: Array<{ id: string }>; next: string | null };
      listedIds.push(...page.tasks.map((t) => t.id));
      cursor = page.next;
    } while (cursor !== null);
    expect(listedIds).toEqual(["c1"]);
    expect(await cli(h, ["task", "cancel", "nope"])).toMatchObject({ code: 1, stderr: "worksteal: task nope not found\n" });
    const bad = await cli(h, ["task", "cancel", "a:b"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/task id/);
    expect((await cli(h, ["task", "stop", "c1"])).code).toBe(2);
    await h.client.submit({ id: "later", delayMs: 600_000 });
    // The cancel is folded into the namespace's count; the delayed task waits for no agent.
    await h.startReplica();
    await eventually(async () => {
      const status = JSON.parse((await cli(h!, ["status", "--json"])).stdout) as { tasks: Record<string, number> };
      expect(status.tasks).toMatchObject({ cancelled: 1, delayed: 1, queued: 0, unassigned: 0 });
    });
    expect((await cli(h, ["status"])).stdout).toMatch(/0 failed, 1 cancelled/);
  });
});
