import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { sleep } from "./eventually.js";
import { spawnNode } from "./process.js";

const ticker = fileURLToPath(new URL("../fixtures/ticker.ts", import.meta.url));

describe("spawnNode", () => {
  it("runs a TypeScript file with the source condition, captures JSON lines, and stops on SIGTERM", async () => {
    const child = spawnNode(ticker, ["hello"], { env: { TICKER_ENV: "yes" } });
    const ready = await child.waitForLine((l) => l.json?.msg === "ready");
    expect(ready.json).toMatchObject({ label: "hello", env: "yes" });
    expect(String(ready.json?.ns)).toMatch(/^child-[0-9a-f]{8}$/);
    expect(child.lines[0]).toMatchObject({ text: "plain text line", json: undefined });

    const tick = await child.waitForLine((l) => l.json?.msg === "tick" && Number(l.json.n) >= 3);
    // fromIndex skips lines already seen.
    const later = await child.waitForLine((l) => l.json?.msg === "tick", 5000, tick.index + 1);
    expect(later.index).toBeGreaterThan(tick.index);

    child.kill();
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.lines.at(-1)?.json).toEqual({ msg: "bye" });
  });

  it("pause() freezes the process and resume() continues it", async () => {
    const child = spawnNode(ticker);
    try {
      await child.waitForLine((l) => l.json?.msg === "tick");
      child.pause();
      await sleep(100); // lines already in the pipe may still arrive
      const frozenAt = child.lines.length;
      await sleep(300);
      expect(child.lines.length).toBe(frozenAt);
      child.resume();
      await child.waitForLine((l) => l.json?.msg === "tick", 5000, frozenAt);
      child.pause();
      child.kill(); // SIGTERM reaches a paused process too
      expect((await child.exited).code).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("rejects waitForLine when the process exits first, with its stderr", async () => {
    const child = spawnNode(ticker, ["crash"]);
    await expect(child.waitForLine((l) => l.json?.msg === "never")).rejects.toThrow(/exited \(code 3[\s\S]*about to crash/);
    expect(await child.exited).toEqual({ code: 3, signal: null });
  });

  it("rejects waitForLine on timeout, and SIGKILL ends the process", async () => {
    const child = spawnNode(ticker);
    await expect(child.waitForLine(() => false, 300)).rejects.toThrow(/no matching line within 300 ms/);
    child.kill("SIGKILL");
    expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
  });
});
