import { freePort, spawnNode, startRedisServer, testNamespace } from "@worksteal/testkit";
import { describe, expect, inject, it } from "vitest";
import { CONNECT_TIMEOUT_MS } from "./connect.js";

const BIN = "packages/cli/src/bin.ts";

describe("the worksteal bin", () => {
  it("an unreachable Redis: one stderr line, no stack, exit 2, promptly", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const child = spawnNode(BIN, ["status", "--redis", url]);
    expect(await child.exited).toEqual({ code: 2, signal: null });
    const stderr = child.stderr();
    expect(stderr).toMatch(new RegExp(`^worksteal: cannot reach Redis at ${url.replace(/\./g, "\\.")}: connect ECONNREFUSED [^\\n]+\\n$`));
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(child.lines).toEqual([]);
    // Nothing holds the process open after the failed connect (tsx start-up is most of this).
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("a Redis that accepts connections but never answers: one line, exit 2, after the connect timeout", async () => {
    // A paused server: the kernel still accepts connections, nothing answers them.
    const server = await startRedisServer({ appendOnly: false });
    server.kill("SIGSTOP");
    try {
      const started = Date.now();
      const child = spawnNode(BIN, ["status", "--redis", server.url]);
      expect(await child.exited).toEqual({ code: 2, signal: null });
      expect(child.stderr()).toBe(`worksteal: cannot reach Redis at ${server.url}: no answer within ${CONNECT_TIMEOUT_MS / 1000}s\n`);
      expect(child.lines).toEqual([]);
      // Bounded by the connect timeout, not by the server (tsx start-up is the rest).
      expect(Date.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS + 15_000);
    } finally {
      server.kill("SIGCONT");
      await server.stop();
    }
  });

  it("a bad argument: one line naming the option, exit 2", async () => {
    const child = spawnNode(BIN, ["status", "--namespace", "no spaces"]);
    expect(await child.exited).toEqual({ code: 2, signal: null });
    expect(child.stderr()).toMatch(/^worksteal: --namespace: [^\n]+\n$/);
  });

  it("status --json prints one JSON object and exits 0", async () => {
    const ns = testNamespace("cli-bin");
    const child = spawnNode(BIN, ["status", "--json", "--redis", inject("redisUrl"), "-n", ns]);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.lines).toHaveLength(1);
    expect(child.lines[0]?.json).toMatchObject({ namespace: ns, agents: [], steals: 0 });
    expect(child.stderr()).toBe("");
  });
});
