import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { spawnNode } from "./process.js";
import { NotReadyError, waitUntilReady } from "./ready.js";

const ticker = fileURLToPath(new URL("../fixtures/ticker.ts", import.meta.url));

describe("waitUntilReady", () => {
  it("resolves once the probe holds, however many probes that takes, including ones that throw", async () => {
    const child = spawnNode(ticker);
    try {
      let probes = 0;
      await waitUntilReady(
        child,
        () => {
          probes += 1;
          if (probes < 3) throw new Error("not reachable yet");
          return probes >= 5;
        },
        { what: "ticker", intervalMs: 10 },
      );
      expect(probes).toBe(5);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("rejects at once with one line naming the process and its error when it exits first", async () => {
    const child = spawnNode(ticker, ["crash"]);
    const started = Date.now();
    const error = await waitUntilReady(child, () => false, { what: "ticker", timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotReadyError);
    expect((error as NotReadyError).message).toBe("ticker exited (code 3) before it was ready: about to crash");
    expect((error as NotReadyError).stderr).toContain("about to crash");
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("rejects after the timeout with the probe's last error", async () => {
    const child = spawnNode(ticker);
    try {
      await expect(
        waitUntilReady(child, () => Promise.reject(new Error("connection refused")), { what: "ticker", timeoutMs: 300, intervalMs: 20 }),
      ).rejects.toThrow("ticker not ready within 300 ms; last probe failed: connection refused");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
