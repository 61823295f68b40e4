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
 * The runs in progress on one agent, each with the controller of its handler's signal. While any
 * runs, the agent reads their records' cancel mark every `pollMs` (one pipelined round trip) and
 * aborts the signal of each cancelled one: a cancel reaches a running handler within `pollMs`
 * plus a round trip. Nothing is read while the agent runs nothing.
 */
export class RunningTasks {
  private readonly runs = new Map<string, AbortController>();
  private timer?: NodeJS.Timeout;
  private polling = false;

  constructor(
    private readonly store: Store,
    private readonly pollMs: number,
    private readonly log: Logger,
  ) {}

  /** A new run's signal; `end` it when the run is over. */
  begin(taskId: string): AbortController {
    const controller = new AbortController();
    this.runs.set(taskId, controller);
    this.timer ??= setInterval(() => void this.poll(), this.pollMs);
    return controller;
  }

  end(taskId: string, controller: AbortController): void {
    if (this.runs.get(taskId) === controller) this.runs.delete(taskId);
    if (this.runs.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.runs.size === 0) return;
    this.polling = true;
    try {
      const ids = [...this.runs.keys()];
      const cancelled = await readCancelRequests(this.store, ids);
      for (const id of cancelled) {
        const controller = this.runs.get(id);
        if (!controller || controller.signal.aborted) continue;
        this.log.info({ taskId: id }, "task cancelled while running: aborting its signal");
        controller.abort(new TaskCancelledError(`task ${id} was cancelled`));
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
 * finish on its own; its outcome no longer counts).
 */
export async function withTimeout<T>(work: () => Promise<T>, timeoutMs: number | undefined, controller: AbortController): Promise<T> {
  if (timeoutMs === undefined) return work();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error = new AttemptTimeoutError(`timed out after ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
