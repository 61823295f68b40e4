import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trackChild, trackDir, untrackDir } from "./cleanup.js";
import { sleep } from "./eventually.js";
import { freePort } from "./port.js";
import { pingPort } from "./redis-server.js";

export interface SentinelOptions {
  /** The primary to monitor, on 127.0.0.1. */
  primaryPort: number;
  /** Default "mymaster". */
  masterName?: string;
  /** Sentinels that must agree the primary is down; default 2. */
  quorum?: number;
  /** Unanswered this long, ms, the primary is subjectively down; default 2000. */
  downAfterMs?: number;
  /** How long to wait for PING to answer (default 10000 ms). */
  startTimeoutMs?: number;
}

export interface Sentinel {
  readonly port: number;
  readonly pid: number;
  /** SIGTERM, wait for exit (SIGKILL after 3 s), remove its dir. */
  stop(): Promise<void>;
  /** What it printed. */
  logs(): string;
}

/**
 * Spawns `redis-server <conf> --sentinel` on a free port, monitoring 127.0.0.1:primaryPort, and
 * waits until it answers PING. A sentinel rewrites its config file, so each gets a temp dir.
 */
export async function startSentinel(options: SentinelOptions): Promise<Sentinel> {
  const dir = await mkdtemp(join(tmpdir(), "worksteal-sentinel-"));
  trackDir(dir);
  const port = await freePort();
  const name = options.masterName ?? "mymaster";
  const conf = join(dir, "sentinel.conf");
  await writeFile(
    conf,
    [
      `port ${port}`,
      "bind 127.0.0.1",
      "protected-mode no",
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${options.primaryPort} ${options.quorum ?? 2}`,
      `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 2000}`,
      `sentinel failover-timeout ${name} 10000`,
      `sentinel parallel-syncs ${name} 1`,
      "",
    ].join("\n"),
  );
  const child = spawn("redis-server", [conf, "--sentinel"], { stdio: ["ignore", "pipe", "pipe"] });
  trackChild(child);
  child.unref();
  const log: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    (stream as { unref?: () => void }).unref?.();
    stream.on("data", (chunk: Buffer) => {
      log.push(
        ...chunk
          .toString("utf8")
          .split("\n")
          .filter((l) => l.trim() !== ""),
      );
      if (log.length > 300) log.splice(0, log.length - 300);
    });
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const remove = async () => {
    await rm(dir, { recursive: true, force: true });
    untrackDir(dir);
  };
  const stop = async () => {
    if (!gone) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
    await remove();
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  while (!(await pingPort(port, 250))) {
    if (gone || Date.now() > deadline) {
      await stop();
      throw new Error(`sentinel on port ${port} ${gone ? "exited" : "did not answer PING"}:\n${log.slice(-20).join("\n")}`);
    }
    await sleep(25);
  }
  return { port, pid: child.pid ?? -1, stop, logs: () => log.join("\n") };
}
