import { Redis } from "ioredis";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "./port.js";
import { hasRedisServerBinary, pingPort, startRedisServer, type RedisServer } from "./redis-server.js";

const servers: RedisServer[] = [];
const clients: Redis[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.stop();
});

async function start(options?: Parameters<typeof startRedisServer>[0]): Promise<RedisServer> {
  const server = await startRedisServer(options);
  servers.push(server);
  return server;
}

function client(url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100, lazyConnect: false });
  c.on("error", () => {});
  clients.push(c);
  return c;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasRedisServerBinary())("startRedisServer", () => {
  it("starts a private server on a free port and stops it, removing its temp dir", async () => {
    const server = await start();
    expect(server.port).not.toBe(6379);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(alive(server.pid)).toBe(true);
    expect(existsSync(server.dir)).toBe(true);

    const redis = client(server.url);
    await redis.set("k", "v");
    expect(await redis.get("k")).toBe("v");
    expect(await redis.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
    expect(await redis.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
    redis.disconnect();

    const pid = server.pid;
    await server.stop();
    expect(server.running).toBe(false);
    expect(alive(pid)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
    expect(await pingPort(server.port)).toBe(false);
  });

  it("restart() keeps AOF data, on the same port, after a graceful stop and after SIGKILL", async () => {
    const server = await start();
    const port = server.port;
    const redis = client(server.url);
    await redis.set("a", "1");

    const firstPid = server.pid;
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(firstPid);
    expect(await redis.get("a")).toBe("1");

    await redis.set("b", "2");
    server.kill("SIGKILL");
    await server.waitExit();
    expect(server.running).toBe(false);
    await server.restart();
    expect(await redis.mget("a", "b")).toEqual(["1", "2"]);
  });

  it("shutdown() leaves the server down until restart()", async () => {
    const server = await start();
    await server.shutdown();
    expect(await pingPort(server.port)).toBe(false);
    expect(existsSync(server.dir)).toBe(true);
    await server.restart();
    expect(await pingPort(server.port)).toBe(true);
  });

  it("without appendOnly, data does not survive a restart", async () => {
    const server = await start({ appendOnly: false });
    const redis = client(server.url);
    await redis.set("a", "1");
    await server.restart();
    expect(await redis.get("a")).toBeNull();
  });

  it("honours port, dir and extra args, and keeps a given dir on stop", async () => {
    const dir = await mkdtemp(join(tmpdir(), "testkit-dir-"));
    try {
      const port = await freePort();
      const server = await start({ port, dir, args: ["--databases", "3"] });
      expect(server.port).toBe(port);
      expect(server.dir).toBe(dir);
      const redis = client(server.url);
      expect(await redis.config("GET", "databases")).toEqual(["databases", "3"]);
      redis.disconnect();
      await server.stop();
      expect(existsSync(dir)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails clearly when the port is taken", async () => {
    const taken = await start();
    await expect(startRedisServer({ port: taken.port, startTimeoutMs: 3000 })).rejects.toThrow(/exited|PING/);
  });
});

describe("hasRedisServerBinary", () => {
  it("is false with an empty PATH", () => {
    const saved = process.env.PATH;
    process.env.PATH = "";
    try {
      expect(hasRedisServerBinary()).toBe(false);
    } finally {
      process.env.PATH = saved;
    }
  });

  it("startRedisServer names the fix when redis-server is missing", async () => {
    const saved = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(startRedisServer()).rejects.toThrow(
        "redis-server not found on PATH: install it with `apt-get update && apt-get install -y redis-server`, or set REDIS_URL",
      );
    } finally {
      process.env.PATH = saved;
    }
  });
});
