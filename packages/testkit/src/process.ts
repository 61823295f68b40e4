import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { trackChild } from "./cleanup.js";

/** The monorepo root: the nearest ancestor of this file holding pnpm-workspace.yaml. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** `--import` value for tsx: its loader resolved from the repo root (tsx is a root devDependency). */
function tsxImport(root: string): string {
  try {
    return pathToFileURL(createRequire(join(root, "package.json")).resolve("tsx")).href;
  } catch {
    return "tsx"; // resolved by node from the cwd, which is the repo root by default
  }
}

/** One stdout line; `json` is set when the line is a JSON object (e.g. a pino log line). */
export interface OutputLine {
  index: number;
  text: string;
  json: Record<string, unknown> | undefined;
}

export interface SpawnNodeOptions {
  /** Merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default: the repo root. */
  cwd?: string;
  /** Copy the child's stdout/stderr to this process's stderr, prefixed. */
  echo?: boolean;
  /** Run the script as built JavaScript: plain `node <script>`, the packages resolved to their dist (default false). */
  built?: boolean;
  /** Node options put before the script (and the tsx loader), e.g. `--cpu-prof`: NODE_OPTIONS refuses some of them. */
  nodeArgs?: readonly string[];
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeProcess {
  readonly pid: number;
  /** Every stdout line so far. */
  readonly lines: readonly OutputLine[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /**
   * Resolves with the first stdout line (at index >= fromIndex, already seen or yet to come) that
   * matches; rejects on timeout (default 10 s) or if the process exits first.
   */
  waitForLine(predicate: (line: OutputLine) => boolean, timeoutMs?: number, fromIndex?: number): Promise<OutputLine>;
  /** Default SIGTERM (followed by SIGCONT, so that a paused process acts on it). */
  kill(signal?: NodeJS.Signals): void;
  /** SIGSTOP: the process freezes (its Redis connections stay open but go silent). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  readonly exited: Promise<ExitStatus>;
}

/**
 * Runs a TypeScript file as `node --conditions=@worksteal/source --import tsx <script> ...args`
 * (a built JavaScript file as `node <script> ...args` with `built`), from the repo root; a
 * relative scriptPath is taken from the repo root. The child is SIGKILLed if this process exits
 * first.
 */
export function spawnNode(scriptPath: string, args: readonly string[] = [], options: SpawnNodeOptions = {}): NodeProcess {
  const root = repoRoot();
  const script = isAbsolute(scriptPath) ? scriptPath : resolve(root, scriptPath);
  const loader = options.built ? [] : ["--conditions=@worksteal/source", "--import", tsxImport(root)];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, script, ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackChild(child);
  const tag = `[${scriptPath}:${child.pid ?? "?"}]`;
  const lines: OutputLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  let partial = "";

  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const text of parts) pushLine(text);
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
    if (options.echo) process.stderr.write(chunk.replace(/^(?=.)/gm, `${tag} ! `));
  });

  function pushLine(raw: string): void {
    const text = raw.replace(/\r$/, "");
    let json: Record<string, unknown> | undefined;
    if (text.startsWith("{")) {
      try {
        const value: unknown = JSON.parse(text);
        if (value !== null && typeof value === "object" && !Array.isArray(value)) json = value as Record<string, unknown>;
      } catch {
        // not JSON
      }
    }
    lines.push({ index: lines.length, text, json });
    if (options.echo) process.stderr.write(`${tag} ${text}\n`);
    for (const wake of waiters) wake();
  }

  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolveExit) => {
    child.once("error", (err) => {
      stderr += `spawn error: ${err.message}\n`;
      status = { code: null, signal: null };
      resolveExit(status);
    });
    child.once("close", (code, signal) => {
      if (partial !== "") pushLine(partial);
      partial = "";
      status = { code, signal };
      resolveExit(status);
    });
  });
  void exited.then(() => {
    for (const wake of waiters) wake();
  });

  const signal = (sig: NodeJS.Signals): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(sig);
    // A paused process would only act on SIGTERM & co. once continued.
    if (sig !== "SIGSTOP" && sig !== "SIGCONT" && sig !== "SIGKILL") child.kill("SIGCONT");
  };

  return {
    get pid() {
      return child.pid ?? -1;
    },
    lines,
    stderr: () => stderr,
    waitForLine(predicate, timeoutMs = 10_000, fromIndex = 0) {
      return new Promise<OutputLine>((resolveLine, reject) => {
        let next = fromIndex;
        const check = (): void => {
          for (; next < lines.length; next++) {
            const line = lines[next];
            if (line !== undefined && predicate(line)) return finish(() => resolveLine(line));
          }
          if (status !== undefined) {
            finish(() =>
              reject(new Error(`${tag} exited (code ${status?.code}, signal ${status?.signal}) before the awaited line.\nstderr:\n${stderr.slice(-4000)}`)),
            );
          }
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`${tag} no matching line within ${timeoutMs} ms.\nstderr:\n${stderr.slice(-4000)}`))),
          timeoutMs,
        );
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    kill: (sig = "SIGTERM") => signal(sig),
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    exited,
  };
}
