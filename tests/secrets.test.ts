import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@worksteal/cli";
import { Client } from "@worksteal/client";
import { eventually, type RedisServer, spawnNode, startRedisServer, testNamespace } from "@worksteal/testkit";
import { Redis } from "ioredis";
import { keysFor } from "@worksteal/protocol";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const MAIN = "packages/coordinator/src/main.ts";
// Each test starts a coordinator process: on a loaded CI machine that alone can take tens of seconds.
vi.setConfig({ testTimeout: 90_000 });
const password = `pw-${randomBytes(12).toString("hex")}`;
const wrongPassword = `wrong-${randomBytes(12).toString("hex")}`;

let server: RedisServer;
let dir: string;
let passwordFile: string;
let wrongPasswordFile: string;

beforeAll(async () => {
  // The password is set once the server runs: the testkit's readiness probe is an unauthenticated PING.
  server = await startRedisServer({ appendOnly: false });
  const admin = new Redis(server.url);
  await admin.config("SET", "requirepass", password);
  await admin.quit();
  dir = await mkdtemp(join(tmpdir(), "worksteal-secrets-"));
  passwordFile = join(dir, "redis-password");
  wrongPasswordFile = join(dir, "wrong-password");
  // As an operator's editor or `echo` writes it: with a final newline that is no part of the password.
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  await writeFile(wrongPasswordFile, `${wrongPassword}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Everything a process printed, for looking for a secret in it. */
const everything = (child: ReturnType<typeof spawnNode>) => `${child.lines.map((l) => l.text).join("\n")}\n${child.stderr()}`;

describe("Redis passwords", () => {
  it("a coordinator given its password by file leads, takes a task, and never prints the password (trace logs)", async () => {
    const namespace = testNamespace("secret");
    const child = spawnNode(MAIN, [], {
      env: { REDIS_URL: server.url, WORKSTEAL_REDIS_PASSWORD_FILE: passwordFile, WORKSTEAL_NAMESPACE: namespace, WORKSTEAL_LOG_LEVEL: "trace" },
    });
    // The client has the password from the environment's other form: the setting itself.
    const client = new Client({ config: { redisUrl: server.url, redisPassword: password, namespace, logLevel: "silent" } });
    const admin = new Redis(server.url, { password });
    try {
      // Readiness from Redis: the lease names a holder once the coordinator leads.
      await eventually(async () => expect(await admin.hget(keysFor(namespace).leader, "holder")).toBeTruthy(), { timeoutMs: 60_000, intervalMs: 200 });
      // Without an agent the task waits: a write and a read through the password.
      await client.submit({ id: "waits" });
      expect(await client.get("waits")).toMatchObject({ id: "waits" });
    } finally {
      await client.close();
      await admin.quit();
      child.kill("SIGTERM");
    }
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.lines.length).toBeGreaterThan(1);
    expect(everything(child)).not.toContain(password);
  });

  it("a wrong password: the coordinator says Redis refused it, without printing either password", async () => {
    const child = spawnNode(MAIN, [], {
      env: {
        REDIS_URL: server.url,
        WORKSTEAL_REDIS_PASSWORD_FILE: wrongPasswordFile,
        WORKSTEAL_NAMESPACE: testNamespace("wrong"),
        WORKSTEAL_LOG_LEVEL: "trace",
      },
    });
    try {
      const line = await child.waitForLine((l) => /unreachable|could not start/.test(String(l.json?.msg)), 30_000);
      expect(line.json?.error).toMatch(/WRONGPASS/);
    } finally {
      child.kill("SIGTERM");
    }
    await child.exited;
    expect(everything(child)).not.toContain(wrongPassword);
    expect(everything(child)).not.toContain(password);
  });

  it("the CLI: a password file works; a wrong one fails with one line that does not print it", async () => {
    const namespace = testNamespace("secret-cli");
    const cli = async (file: string) => {
      let out = "";
      const code = await main(
        ["agents", "--redis", server.url, "--namespace", namespace],
        { stdout: (s) => void (out += s), stderr: (s) => void (out += s) },
        {
          WORKSTEAL_REDIS_PASSWORD_FILE: file,
        },
      );
      return { code, out };
    };
    expect(await cli(passwordFile)).toEqual({ code: 0, out: `no agents registered in namespace ${namespace}\n` });
    const refused = await cli(wrongPasswordFile);
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(/^worksteal: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: WRONGPASS.*\n$/);
    expect(refused.out).not.toContain(wrongPassword);
  });
});
