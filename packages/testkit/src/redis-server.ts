import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { trackChild, trackDir, untrackDir } from "./cleanup.js";
import { sleep } from "./eventually.js";
import { freePort } from "./port.js";

export const REDIS_SERVER_MISSING = "redis-server not found on PATH: install it with `apt-get update && apt-get install -y redis-server`, or set REDIS_URL";

export interface RedisServerOptions {
  /** Port to listen on; a free one by default. */
  port?: number;
  /** Data dir (kept on stop); a fresh temp dir by default (removed on stop). */
  dir?: string;
  /** `--appendonly yes` so data survives kill/restart; default true. */
  appendOnly?: boolean;
  /** Extra redis-server arguments, e.g. ["--appendfsync", "always"]. */
  args?: string[];
  /** How long to wait for PING to answer (default 5000 ms). */
  startTimeoutMs?: number;
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`; unchanged across restart(). */
  readonly url: string;
  readonly port: number;
  /** Pid of the current redis-server process (changes on restart()). */
  readonly pid: number;
  readonly dir: string;
  /** Whether the current process has not exited yet. */
  readonly running: boolean;
  /** Final stop: SIGTERM, wait for exit (SIGKILL after 3 s), remove the temp dir. */
  stop(): Promise<void>;
  /** Send a signal (default SIGKILL) to the current process; the dir is kept, restart() works. */
  kill(signal?: NodeJS.Signals): void;
  /** Stop the process gracefully but keep port and dir, for a later restart(). */
  shutdown(): Promise<void>;
  /** Stop the current process if it runs, then start again on the same port and dir. */
  restart(): Promise<void>;
  /** Resolves when the current process has exited. */
  waitExit(): Promise<void>;
  /** The last lines redis-server printed. */
  logs(): string;
}

/** Whether an executable `redis-server` is on PATH. */
export function hasRedisServerBinary(): boolean {
  return findOnPath("redis-server") !== undefined;
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether something on 127.0.0.1:port answers PING with +PONG (not -LOADING). */
export async function pingPort(port: number, timeoutMs = 500): Promise<boolean> {
  return (await probe(port, timeoutMs)).pong;
}

/** PING and the answering server's process_id, in one round trip of inline commands. */
function probe(port: number, timeoutMs: number): Promise<{ pong: boolean; pid: number | undefined }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    let data = "";
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const pid = /process_id:(\d+)/.exec(data)?.[1];
      resolve({ pong: data.startsWith("+PONG\r\n"), pid: pid === undefined ? undefined : Number(pid) });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.once("error", done);
    socket.once("close", done);
    socket.once("connect", () => socket.write("PING\r\nINFO server\r\n"));
    socket.on("data", (chunk) => {
      data += chunk.toString("utf8");
      if (/process_id:\d+\r\n/.test(data) || data.startsWith("-")) done();
    });
  });
}

class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Spawns a private, throwaway redis-server and waits until it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = findOnPath("redis-server");
  if (bin === undefined) throw new Error(REDIS_SERVER_MISSING);
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "worksteal-redis-")));
  if (ownDir) trackDir(dir);
  const appendOnly = options.appendOnly ?? true;
  const timeoutMs = options.startTimeoutMs ?? 5000;
  const log: string[] = [];

  const launch = async (port: number): Promise<Running> => {
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--protected-mode",
      "no",
      "--save",
      "",
      "--appendonly",
      appendOnly ? "yes" : "no",
      "--dir",
      dir,
      "--maxmemory-policy",
      "noeviction",
      "--daemonize",
      "no",
      "--logfile",
      "",
      ...(options.args ?? []),
    ];
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    trackChild(child);
    // The server never keeps this process alive: a script that ends without stop() exits, and
    // the exit cleanup kills the server.
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") log.push(line);
      if (log.length > 200) log.splice(0, log.length - 200);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    let spawnError: Error | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once("error", (err) => {
        spawnError = err;
        resolve();
      });
      child.once("exit", () => resolve());
    });
    let gone = false;
    void exited.then(() => (gone = true));

    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (gone) {
        const tail = log.slice(-20).join("\n");
        if (spawnError !== undefined) throw new StartError(`redis-server could not be spawned: ${spawnError.message}`, false);
        throw new StartError(
          `redis-server on port ${port} exited (code ${child.exitCode}, signal ${child.signalCode}) before answering PING:\n${tail}`,
          /address already in use/i.test(tail),
        );
      }
      // The pid check makes sure that the server answering is ours, not another on the same port.
      const answer = await probe(port, 250);
      if (answer.pong && answer.pid === child.pid) return { child, exited };
      await sleep(25);
    }
    child.kill("SIGKILL");
    await exited;
    throw new StartError(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms:\n${log.slice(-20).join("\n")}`, false);
  };

  // A port from freePort() may be grabbed by someone else before redis binds it: retry then.
  let port = options.port ?? (await freePort());
  let current: Running;
  for (let attempt = 1; ; attempt++) {
    try {
      current = await launch(port);
      break;
    } catch (err) {
      if (err instanceof StartError && err.portInUse && options.port === undefined && attempt < 5) {
        port = await freePort();
        continue;
      }
      if (ownDir) {
        await rm(dir, { recursive: true, force: true });
        untrackDir(dir);
      }
      throw err;
    }
  }

  const isRunning = (): boolean => current.child.exitCode === null && current.child.signalCode === null;

  const terminate = async (): Promise<void> => {
    if (!isRunning()) return current.exited;
    current.child.kill("SIGTERM");
    current.child.kill("SIGCONT"); // in case a test SIGSTOPped it
    const timer = setTimeout(() => current.child.kill("SIGKILL"), 3000);
    await current.exited;
    clearTimeout(timer);
  };

  let stopped = false;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return current.child.pid ?? -1;
    },
    dir,
    get running() {
      return isRunning();
    },
    async stop() {
      stopped = true;
      await terminate();
      if (ownDir) {
        await rm(dir, { recursive: true, force: true });
        untrackDir(dir);
      }
    },
    kill(signal = "SIGKILL") {
      if (isRunning()) current.child.kill(signal);
    },
    shutdown: terminate,
    async restart() {
      if (stopped) throw new Error("restart() after stop(): the server's dir is gone; use shutdown() instead");
      await terminate();
      current = await launch(port);
    },
    waitExit: () => current.exited,
    logs: () => log.join("\n"),
  };
  return server;
}
