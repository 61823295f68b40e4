import type { Redis } from "ioredis";
import {
  type AgentView,
  type Config,
  type ConfigInput,
  describeZodError,
  isFinished,
  type TaskRecord,
  type TaskSpec,
  type TaskSpecInput,
  TaskSpecSchema,
  AgentIdSchema,
  WorkstealError,
} from "@worksteal/protocol";
import { loadConfig } from "@worksteal/config";
import { findBestAgent } from "@worksteal/planner";
import { AgentQueues, closeRedis, createRedis, isRefusedAgent, readAgents, Store } from "@worksteal/store";

export interface ClientOptions {
  config?: ConfigInput;
  /** An existing connection to share; the client then leaves it open on close(). */
  redis?: Redis;
}

export interface SubmitInput extends TaskSpecInput {
  /** Place the task on this agent instead of letting placement choose. */
  agentId?: string;
}

export interface Submitted {
  taskId: string;
  /** The agent whose queue holds the task, or undefined while no live capable agent exists. */
  owner: string | undefined;
  epoch: number;
  /** False when the id was already submitted: nothing new was created. */
  created: boolean;
}

export class TaskTimeoutError extends WorkstealError {
  override name = "TaskTimeoutError";
}

/** How long a snapshot of the agents is reused for placement; placements made meanwhile are projected onto it. */
const AGENT_CACHE_MS = 500;

/** Submits tasks, reads their records, waits for them to finish. */
export class Client {
  readonly config: Config;
  readonly store: Store;
  private readonly queues: AgentQueues;
  private readonly ownsRedis: boolean;
  private agentCache?: { at: number; agents: AgentView[] };

  constructor(options: ClientOptions = {}) {
    this.config = loadConfig({ overrides: options.config });
    const redis = options.redis ?? createRedis(this.config.redisUrl, { connectionName: "client" });
    this.ownsRedis = options.redis === undefined;
    this.store = new Store(redis, this.config.namespace, { agentTtlMs: this.config.agentTtlMs });
    this.queues = new AgentQueues(redis, this.store.keys);
  }

  /**
   * Creates the task and queues it on its agent: the one named (refused unless it is registered,
   * alive, not draining and has every required capability), else the best live capable agent.
   * With none, the task waits unassigned and the coordinator places it when one appears.
   * Submitting an id again changes nothing but re-adds a job a crash may have left missing.
   */
  async submit(input: SubmitInput): Promise<Submitted> {
    const { agentId, ...spec } = input;
    const parsed = TaskSpecSchema.safeParse(spec);
    if (!parsed.success) throw new TypeError(`invalid task: ${describeZodError(parsed.error)}`);
    if (agentId !== undefined && !AgentIdSchema.safeParse(agentId).success) throw new TypeError(`invalid agentId: ${agentId}`);
    const task = parsed.data;
    const result = await this.create(task, agentId);
    if (result.state === "queued" && result.owner !== "") {
      await this.queues.enqueue(result.owner, task.id, result.epoch, task.maxAttempts);
    }
    return { taskId: task.id, owner: result.owner || undefined, epoch: result.epoch, created: result.created };
  }

  /**
   * Creates the record on the named agent, which must be registered, alive and capable (else the
   * store's AgentUnknownError, AgentNotAliveError or AgentIncapableError names it), or on the
   * placed one. A placement made from a view that went stale (the agent died or began to drain
   * since) is made once more from a fresh view, and failing that the task waits unassigned.
   */
  private async create(task: TaskSpec, agentId: string | undefined) {
    if (agentId !== undefined) return this.store.submit(task, agentId);
    try {
      return await this.store.submit(task, (await this.place(task))?.id ?? "");
    } catch (error) {
      if (!isRefusedAgent(error)) throw error;
    }
    this.agentCache = undefined;
    try {
      return await this.store.submit(task, (await this.place(task))?.id ?? "");
    } catch (error) {
      if (!isRefusedAgent(error)) throw error;
      return this.store.submit(task, "");
    }
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    return this.store.getTask(taskId);
  }

  /** Resolves with the record once the task is done or failed. */
  async waitFor(taskId: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<TaskRecord> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const record = await this.get(taskId);
      if (record && isFinished(record.state)) return record;
      if (Date.now() >= deadline)
        throw new TaskTimeoutError(`task ${taskId} not finished after ${options.timeoutMs ?? 60_000} ms (state: ${record?.state ?? "missing"})`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
    }
  }

  async close(): Promise<void> {
    await this.queues.close();
    if (this.ownsRedis) await closeRedis(this.store.redis);
  }

  private async place(task: Parameters<typeof findBestAgent>[0]): Promise<AgentView | undefined> {
    const now = Date.now();
    if (!this.agentCache || now - this.agentCache.at > AGENT_CACHE_MS) {
      this.agentCache = { at: now, agents: await readAgents(this.store, this.config.agentTtlMs) };
    }
    const best = findBestAgent(task, this.agentCache.agents);
    // Project the placement so that a burst of submits within one snapshot spreads out.
    if (best) best.workload.queued += 1;
    return best;
  }
}
