import { sleep } from "./eventually.js";
import type { ExitStatus, NodeProcess } from "./process.js";

/**
 * How long a child process may take to become ready. Generous on purpose: with both cores busy,
 * starting node with the TypeScript loader takes several seconds, and a slow start is not a fault.
 */
export const PROCESS_READY_TIMEOUT_MS = 60_000;

export interface ReadyOptions {
  /** Names the process in errors, e.g. "agent a1". */
  what: string;
  /** Default PROCESS_READY_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Pause between probes (default 100 ms). */
  intervalMs?: number;
}

/** A process that exited, or did not become ready in time. The message is one line; `stderr` keeps the end of its stderr. */
export class NotReadyError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "NotReadyError";
  }
}

/**
 * Resolves once `probe` returns true. The probe reads state the process writes once it is up (a
 * Redis key, /healthz), never its log text: a slow start is then only slow, and rewording a log
 * message breaks nothing. A probe that throws (Redis not reachable yet) counts as not ready.
 * Rejects with NotReadyError if the process exits first or after `timeoutMs`.
 */
export async function waitUntilReady(proc: NodeProcess, probe: () => boolean | Promise<boolean>, options: ReadyOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? PROCESS_READY_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let exit: ExitStatus | undefined;
  void proc.exited.then((status) => {
    exit = status;
  });
  let lastError: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    if (exit !== undefined) {
      const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
      throw new NotReadyError(`${options.what} exited (${how}) before it was ready${cause(proc.stderr())}`, proc.stderr().slice(-4000));
    }
    if (Date.now() >= deadline) {
      const probeError = lastError instanceof Error ? `; last probe failed: ${lastError.message}` : "";
      throw new NotReadyError(`${options.what} not ready within ${timeoutMs} ms${probeError}`, proc.stderr().slice(-4000));
    }
    // Woken early by an exit, so that a crash is reported at once.
    await Promise.race([sleep(intervalMs), proc.exited]);
  }
}

/** The line of a child's stderr that most likely says why it died, as ": <line>", or "". */
function cause(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("at ") && !/^Node\.js v\d/.test(l));
  const line = lines.findLast((l) => /\b\w*Error\b|error:/i.test(l)) ?? lines.at(-1);
  return line === undefined ? "" : `: ${line}`;
}
