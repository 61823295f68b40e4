import { WorkstealError } from "@worksteal/protocol";
import { isConnectionError, readCancelRequests, type Store } from "@worksteal/store";
import type { Logger } from "pino";

/** An attempt ran past its task's `timeoutMs`: it fails (and is retried while attempts are left). */
export class AttemptTimeoutError extends WorkstealError {
  override name = "AttemptTimeoutError";
}

/** The task was cancelled while it ran: the reason its handler's signal is aborted. */
export class TaskCancelledError extends WorkstealError {
  override name = "TaskCancelledError";
}

/**
 * One run's abort signal, made only when something needs it: most handlers never read their
 * signal and most runs are never aborted, and an AbortController (an EventTarget) per task is
 * the larger part of what the agent itself spends on a no-op task. Aborted before the handler
 * read it, the signal it then reads is already aborted, with the same reason.
 */
export class RunSignal {
  private controller?: AbortController;

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller?.signal.aborted ?? false;
  }

  abort(reason: Error): void {
    this.controller ??= new AbortController();
    this.controller.abort(reason);
  }
}

/**
 * The runs in progress on one agent, each with its handler's signal. While any runs, the
 * agent reads their records' cancel mark every `pollMs` (one pipelined round trip) and aborts
 * the signal of each cancelled one: a cancel reaches a running handler within `pollMs` plus a
 * round trip. Nothing is read while the agent runs nothing (the timer stops at its first tick
 * that finds no run).
 */
export class RunningTasks {
  private readonly runs = new Map<string, RunSignal>();
  private timer?: NodeJS.Timeout;
  private polling = false;

  constructor(
    private readonly store: Store,
    private readonly pollMs: number,
    private readonly log: Logger,
  ) {}

  /** A new run's signal; `end` it when the run is over. */
  begin(taskId: string): RunSignal {
    const run = new RunSignal();
    this.runs.set(taskId, run);
    this.timer ??= setInterval(() => void this.poll(), this.pollMs);
    return run;
  }

  end(taskId: string, run: RunSignal): void {
    if (this.runs.get(taskId) === run) this.runs.delete(taskId);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    // Stopped by the first tick that finds no run, not as the last run ends: slots that empty and
    // refill between ticks (short tasks) would otherwise set and clear a timer for every task.
    if (this.runs.size === 0) this.stop();
    if (this.polling || this.runs.size === 0) return;
    this.polling = true;
    try {
      const ids = [...this.runs.keys()];
      const cancelled = await readCancelRequests(this.store, ids);
      for (const id of cancelled) {
        const run = this.runs.get(id);
        if (!run || run.aborted) continue;
        this.log.info({ taskId: id }, "task cancelled while running: aborting its signal");
        run.abort(new TaskCancelledError(`task ${id} was cancelled`));
      }
    } catch (error) {
      if (!isConnectionError(error)) this.log.warn({ error: error instanceof Error ? error.message : String(error) }, "cancel check failed");
    } finally {
      this.polling = false;
    }
  }
}

/**
 * Runs `work` under an optional timeout: past `timeoutMs` the signal is aborted and the returned
 * promise rejects with AttemptTimeoutError at once (a handler that ignores its signal is left to
 * finish on its own; its outcome no longer counts). Without a timeout it is `work()` itself, as
 * it returns or throws: no promise of its own for each task, as most tasks have no timeout.
 */
export function withTimeout<T>(work: () => T | PromiseLike<T>, timeoutMs: number | undefined, run: RunSignal): T | PromiseLike<T> {
  return timeoutMs === undefined ? work() : raceTimeout(work, timeoutMs, run);
}

async function raceTimeout<T>(work: () => T | PromiseLike<T>, timeoutMs: number, run: RunSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error = new AttemptTimeoutError(`timed out after ${timeoutMs} ms`);
      run.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
