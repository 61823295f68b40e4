import { existsSync } from "node:fs";
import type { Server } from "node:http";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { httpAddress, startHttp } from "@worksteal/coordinator";
import { readSteals } from "@worksteal/store";
import { eventually, repoRoot } from "@worksteal/testkit";
import { type Harness, namespaceHarness } from "./helpers.js";

/** Debian's chromium package (scripts/bootstrap.sh installs it); Playwright's own browser download cannot work here. */
const CHROMIUM = "/usr/bin/chromium";
/**
 * The README's picture is refreshed only on request (WORKSTEAL_UPDATE_SCREENSHOT=1), so a test run
 * leaves the working tree as it found it; otherwise the screenshot goes to the ignored .tmp/.
 */
const SCREENSHOT = process.env.WORKSTEAL_UPDATE_SCREENSHOT === "1" ? `${repoRoot()}/docs/dashboard.png` : `${repoRoot()}/.tmp/dashboard.png`;
const AGENTS = ["a1", "a2", "a3"];

// CI must run it: there a missing browser fails the launch below instead of skipping.
const skip = !existsSync(CHROMIUM) && !process.env.CI;
if (skip) console.warn(`dashboard browser test skipped: ${CHROMIUM} is missing (apt-get install chromium, or bash scripts/bootstrap.sh)`);

// Three agent processes, a replica and a browser on a two-core machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

describe.skipIf(skip)("dashboard in a real browser", () => {
  let h: Harness;
  let http: Server;
  let browser: Browser;

  beforeAll(async () => {
    h = namespaceHarness("dashboard-browser", { stealInterval: 200, dashboard: true, dashboardActions: true });
    await Promise.all([
      h.startAgentProcess("a1", { concurrency: 2, capabilities: ["gpu"] }),
      h.startAgentProcess("a2", { concurrency: 2 }),
      h.startAgentProcess("a3", { concurrency: 1, capabilities: ["ssd"], speed: 1.5 }),
    ]);
    const replica = await h.startReplica();
    http = await startHttp(replica, 0, "127.0.0.1");
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => http?.close(resolve));
    await h?.close();
  });

  it("shows every agent, then a steal once one happens, live; looks a task up; drains an agent", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${httpAddress(http)}/dashboard/`);
    for (const id of AGENTS) await page.locator(`#fleet tr[data-agent="${id}"]`).waitFor({ timeout: 60_000 });
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 30_000 });
    expect(await page.locator("#steals li").count()).toBe(0);

    // A backlog on a1 alone: the leader moves part of it to the idle agents.
    // Long enough (about 15 s of work for the fleet) that the screenshot below catches it running.
    for (let i = 0; i < 240; i++) await h.client.submit({ id: `t${i}`, agentId: "a1", payload: { ms: 300 } });
    const steal = await eventually(
      async () => {
        const moved = (await readSteals(h.store, 100)).steals.find((s) => s.taskIds.length > 0);
        expect(moved).toBeDefined();
        return moved!;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const shown = page.locator(`#steals li[data-directive="${steal.directiveId}"]`);
    await shown.waitFor({ timeout: 30_000 });
    expect(await shown.locator(".route").textContent()).toBe(`${steal.source} → ${steal.target}`);
    expect(await shown.getAttribute("data-moved")).toBe(String(steal.taskIds.length));

    // The picture for the README: the charts with a few seconds of the run in them.
    // (A string: it runs in the page, whose DOM types this file does not have.)
    await page.waitForFunction('Number(document.getElementById("charts").dataset.points ?? 0) >= 6', undefined, { timeout: 60_000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    const taskId = steal.taskIds[0]!;
    await page.locator("#lookup-id").fill(taskId);
    await page.locator('#lookup button[type="submit"]').click();
    await page.locator("#lookup-result", { hasText: `"id": "${taskId}"` }).waitFor({ timeout: 30_000 });

    await page.locator('#fleet tr[data-agent="a3"] button', { hasText: "drain" }).click();
    await page.locator('#fleet tr[data-agent="a3"]:is([data-status="draining"], [data-status="drained"])').waitFor({ timeout: 30_000 });
    expect(await h.store.redis.hget(h.store.keys.agent("a3"), "status")).toMatch(/^drain(ing|ed)$/);
  });
});
