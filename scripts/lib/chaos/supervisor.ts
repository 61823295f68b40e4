/**
 * The chaos soak's processes, on the fleet library: started by id, killed and started again on
 * purpose, and started again as a supervisor would when one dies by itself (a poison task kills
 * its agent). It also keeps what every coordinator process logged, over its restarts.
 */
import { type NodeProcess, NotReadyError, sleep } from "@worksteal/testkit";
import type { AgentSpec, Fleet } from "../fleet.js";

export class Supervisor {
  private running = true;
  /** Ids being killed and started again on purpose: their exits are expected. */
  private readonly killing = new Set<string>();
  /** Processes that died by themselves and were started again. */
  unexpectedRestarts = 0;
  /** Bytes each coordinator's exited processes wrote to their log (stdout). */
  private readonly exitedLogBytes = new Map<string, number>();
  /** Lines of each message in the exited coordinator processes' logs. */
  private readonly exitedLogMessages = new Map<string, number>();
  private readonly exited = new WeakSet<NodeProcess>();

  constructor(
    private readonly fleet: Fleet,
    private readonly agents: readonly AgentSpec[],
    private readonly progress: (line: string) => void,
  ) {}

  process(id: string): NodeProcess | undefined {
    return this.fleet.coordinators.get(id) ?? this.fleet.agents.get(id);
  }

  /**
   * Starts the process of `id`, an agent of the soak or else a coordinator. A poison task can kill
   * an agent before it is even ready (its worker takes the job at once): it is then started again,
   * a few times at most.
   */
  async start(id: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const spec = this.agents.find((a) => a.id === id);
        const proc = spec ? await this.fleet.startAgent(spec) : await this.fleet.startCoordinator({ WORKSTEAL_REPLICA_ID: id });
        this.supervise(id, proc);
        return;
      } catch (error) {
        if (!(error instanceof NotReadyError) || attempt >= 5 || !this.running) throw error;
        this.progress(`${id} died while starting (${error.message}); starting it again`);
      }
    }
  }

  /** SIGKILLs the process of `id`, waits `downMs`, and starts it again under the same id. */
  async crash(id: string, downMs: number): Promise<void> {
    const proc = this.process(id);
    if (proc === undefined) throw new Error(`no process ${id}`);
    this.killing.add(id);
    try {
      proc.kill("SIGKILL");
      await proc.exited;
      await sleep(downMs);
      await this.start(id);
    } finally {
      this.killing.delete(id);
    }
  }

  /** From now on, a process that exits stays down (the soak is ending). */
  stop(): void {
    this.running = false;
  }

  /** The largest log of one coordinator id (its processes summed), and the messages logged most. */
  coordinatorLogs(): { maxBytes: number; topMessages: Array<[string, number]> } {
    const bytes = new Map(this.exitedLogBytes);
    const messages = new Map(this.exitedLogMessages);
    for (const [id, proc] of this.fleet.coordinators) if (!this.exited.has(proc)) bytes.set(id, (bytes.get(id) ?? 0) + countLog(proc, messages));
    return { maxBytes: Math.max(0, ...bytes.values()), topMessages: [...messages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8) };
  }

  private supervise(id: string, proc: NodeProcess): void {
    void proc.exited.then(async () => {
      this.exited.add(proc);
      if (!this.agents.some((a) => a.id === id)) this.exitedLogBytes.set(id, (this.exitedLogBytes.get(id) ?? 0) + countLog(proc, this.exitedLogMessages));
      if (!this.running || this.killing.has(id) || this.process(id) !== proc) return;
      this.unexpectedRestarts += 1;
      await this.start(id).catch((error: Error) => this.progress(`restart of ${id} failed: ${error.message}`));
    });
  }
}

/** Bytes of a process's log; adds its lines to `messages`, by message. */
function countLog(proc: NodeProcess, messages: Map<string, number>): number {
  let bytes = 0;
  for (const line of proc.lines) {
    bytes += line.text.length + 1;
    const msg = typeof line.json?.msg === "string" ? line.json.msg : "(not JSON)";
    messages.set(msg, (messages.get(msg) ?? 0) + 1);
  }
  return bytes;
}
