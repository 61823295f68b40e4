import {
  type AgentView,
  type Config,
  type ConfigInput,
  describeZodError,
  isFinished,
  type TaskRecord,
  type TaskSpec,
  type TaskSpecInput,
  safeParseTaskSpec,
  TaskIdSchema,
  AgentIdSchema,
  WaitForOptionsSchema,
  WatchOptionsSchema,
  checkInput,
  WorkstealError,
} from "@worksteal/protocol";
import { loadConfig, redisTargetOf } from "@worksteal/config";
import { findBestAgent } from "@worksteal/planner";
import {
  AgentQueues,
  type CancelOutcome,
  cancelTask,
  closeRedis,
  createRedis,
  isDelayed,
  isRefusedAgent,
  readAgents,
  type RedisConnection,
  Store,
  StoreError,
  type SubmitResult,
  TaskNotFoundError,
} from "@worksteal/store";
import { taskDefaultsOf, unassignedReason, watchTask, type WatchOptions, withTaskDefaults } from "./task-lookups.js";

export interface ClientOptions {
  config?: ConfigInput;
  /** An existing connection to share; the client then leaves it open on close(). */
  redis?: RedisConnection;
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

/** A task of `submitMany` that was not created: the agent it named refused it (the error `submit` would throw). */
export interface SubmitRefused {
  taskId: string;
  refused: StoreError;
}

export interface SubmitManyOptions {
  /** Tasks per round trip (default 500). */
  chunkSize?: number;
}

export class TaskTimeoutError extends WorkstealError {
  override name = "TaskTimeoutError";
}

/** The task waits unassigned and no live agent can run it (`reason` says why); it is placed once one can. */
export class TaskUnassignedError extends WorkstealError {
  override name = "TaskUnassignedError";
  constructor(
    readonly taskId: string,
    readonly reason: string,
  ) {
    super(`task ${taskId} is unassigned: ${reason}`);
  }
}

export interface WaitForOptions {
  timeoutMs?: number;
  pollMs?: number;
  /**
   * A task that waits unassigned with no live agent able to run it: `fail` (the default) rejects
   * at once with TaskUnassignedError and the reason; `wait` waits for a capable agent to appear.
   */
  unassigned?: "fail" | "wait";
  /** Called with each new progress value the handler reports while it is waited for. */
  onProgress?: (progress: unknown, record: TaskRecord) => void;
}

/** How long a snapshot of the agents is reused for placement; placements made meanwhile are projected onto it. */
const AGENT_CACHE_MS = 500;
const DEFAULT_SUBMIT_CHUNK = 500;

interface ParsedInput {
  task: TaskSpec;
  agentId: string | undefined;
  /** The payload's JSON, made by the validation: sent as it is. */
  payloadJson: string;
}

/** Submits tasks, reads their records, waits for them to finish. */
export class Client {
  readonly config: Config;
  readonly store: Store;
  private readonly queues: AgentQueues;
  private readonly ownsRedis: boolean;
  /** The configuration's task defaults, taken once at construction (the config is not read again for them). */
  private readonly taskDefaults: Readonly<Partial<TaskSpecInput>>;
  private agentCache?: { at: number; agents: AgentView[] };
  /** The reload under way: submits in flight when the cache expires share it instead of each reading every agent. */
  private agentsLoading?: Promise<AgentView[]>;

  constructor(options: ClientOptions = {}) {
    this.config = loadConfig({ overrides: options.config });
    this.taskDefaults = taskDefaultsOf(this.config);
    const redis = options.redis ?? createRedis(redisTargetOf(this.config), { connectionName: "client" });
    this.ownsRedis = options.redis === undefined;
    this.store = new Store(redis, this.config.namespace, { agentTtlMs: this.config.agentTtlMs });
    this.queues = new AgentQueues(redis, this.store.keys);
  }

  /**
   * Creates the task and queues it on its agent: the one named (refused unless it is registered,
   * alive, not draining and has every required capability), else the best live capable agent.
   * With none, the task waits unassigned and the coordinator places it when one appears. Record
   * and job are written by one script. Submitting an id again changes nothing but re-adds a job
   * found missing (a record left without one by a crash of an earlier version).
   */
  async submit(input: SubmitInput): Promise<Submitted> {
    const parsed = parseInput(this.withDefaults(input), "");
    const result = await this.create(parsed);
    if (!result.created && result.state === "queued" && result.owner !== "") {
      await this.queues.enqueueMany(result.owner, [{ taskId: parsed.task.id, epoch: result.epoch, attempts: parsed.task.maxAttempts }]);
    }
    return submitted(parsed.task, result);
  }

  /**
   * `submit` for many tasks, pipelined: every input is validated first (a bad one rejects with a
   * TypeError naming its index and field, and nothing is submitted), then each chunk costs one
   * round trip for its records and jobs (one script each). Results come in input
   * order. A task whose named agent refuses it is not created and comes back as SubmitRefused
   * (the others of its chunk are created all the same: the call does not throw for it);
   * placement works as for `submit`, spread over the bulk. A connection failure rejects the
   * call, and tasks of the chunks sent before it stay submitted (submitting them again is safe).
   */
  async submitMany(inputs: readonly SubmitInput[], options: SubmitManyOptions = {}): Promise<Array<Submitted | SubmitRefused>> {
    const chunkSize = options.chunkSize ?? DEFAULT_SUBMIT_CHUNK;
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new TypeError(`invalid chunkSize: ${chunkSize}`);
    const parsed = inputs.map((input, index) => parseInput(this.withDefaults(input), ` at index ${index}`));
    const results: Array<Submitted | SubmitRefused> = [];
    for (let start = 0; start < parsed.length; start += chunkSize) results.push(...(await this.submitChunk(parsed.slice(start, start + chunkSize))));
    return results;
  }

  /**
   * One chunk: records and jobs in one pipeline. Tasks placed on an agent that refused them (a
   * stale view) are placed once more from a fresh view, then left unassigned, as `submit` does.
   * Tasks submitted before have their job re-added, as `submit` does.
   */
  private async submitChunk(chunk: ParsedInput[]): Promise<Array<Submitted | SubmitRefused>> {
    const results: Array<SubmitResult | StoreError> = new Array<SubmitResult | StoreError>(chunk.length);
    let pending = chunk.map((_, index) => index);
    for (const round of ["cached", "fresh", "unassigned"] as const) {
      if (round === "fresh") this.forgetAgents();
      const owners: string[] = [];
      for (const index of pending) {
        const { task, agentId } = chunk[index]!;
        owners.push(agentId ?? (round === "unassigned" || isDelayed(task) ? "" : ((await this.place(task))?.id ?? "")));
      }
      const replies = await this.store.submitMany(
        pending.map((index, i) => ({ task: chunk[index]!.task, owner: owners[i]!, payloadJson: chunk[index]!.payloadJson })),
      );
      pending.forEach((index, i) => (results[index] = replies[i]!));
      pending = pending.filter((index) => chunk[index]!.agentId === undefined && isRefusedAgent(results[index]));
      if (pending.length === 0) break;
    }
    const jobsByOwner = new Map<string, Array<{ taskId: string; epoch: number; attempts: number }>>();
    chunk.forEach(({ task }, index) => {
      const result = results[index]!;
      if (result instanceof StoreError || result.created || result.state !== "queued" || result.owner === "") return;
      const jobs = jobsByOwner.get(result.owner) ?? [];
      jobs.push({ taskId: task.id, epoch: result.epoch, attempts: task.maxAttempts });
      jobsByOwner.set(result.owner, jobs);
    });
    await Promise.all([...jobsByOwner].map(([owner, jobs]) => this.queues.enqueueMany(owner, jobs)));
    return chunk.map(({ task }, index) => {
      const result = results[index]!;
      if (!(result instanceof StoreError)) return submitted(task, result);
      if (!isRefusedAgent(result)) throw result;
      return { taskId: task.id, refused: result };
    });
  }

  /**
   * Creates the record on the named agent, which must be registered, alive and capable (else the
   * store's AgentUnknownError, AgentNotAliveError or AgentIncapableError names it), or on the
   * placed one. A placement made from a view that went stale (the agent died or began to drain
   * since) is made once more from a fresh view, and failing that the task waits unassigned.
   */
  private async create({ task, agentId, payloadJson }: ParsedInput) {
    if (agentId !== undefined) return this.store.submit(task, agentId, payloadJson);
    // Held back with no owner until due: placed then, never stolen before, in no agent's backlog.
    if (isDelayed(task)) return this.store.submit(task, "", payloadJson);
    try {
      return await this.store.submit(task, (await this.place(task))?.id ?? "", payloadJson);
    } catch (error) {
      if (!isRefusedAgent(error)) throw error;
    }
    this.forgetAgents();
    try {
      return await this.store.submit(task, (await this.place(task))?.id ?? "", payloadJson);
    } catch (error) {
      if (!isRefusedAgent(error)) throw error;
      return this.store.submit(task, "", payloadJson);
    }
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    return this.store.getTask(taskId);
  }

  /**
   * Resolves with the record once the task is done, failed or cancelled; its `result` comes back
   * parsed, as the handler returned it. Rejects at once with TaskNotFoundError for an id that does
   * not exist (never submitted, or expired after `retentionMs`), with TaskUnassignedError (and
   * the reason) while the task waits unassigned and no live agent can run it, and with
   * TaskTimeoutError after `timeoutMs` (default 60 s).
   */
  async waitFor(taskId: string, options: WaitForOptions = {}): Promise<TaskRecord> {
    checkInput(TaskIdSchema, taskId, "taskId");
    checkInput(WaitForOptionsSchema, options, "waitFor options");
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let progressAt: number | undefined;
    for (;;) {
      const record = await this.get(taskId);
      if (!record) throw new TaskNotFoundError(`task ${taskId} not found`, -1);
      if (options.onProgress && record.progressAt !== undefined && record.progressAt !== progressAt) {
        progressAt = record.progressAt;
        options.onProgress(record.progress, record);
      }
      if (isFinished(record.state)) return record;
      if (options.unassigned !== "wait") {
        // Read afresh: an agent that just started must count.
        const unassigned = await unassignedReason(record, () => readAgents(this.store, this.config.agentTtlMs));
        if (unassigned !== undefined) throw new TaskUnassignedError(taskId, unassigned);
      }
      if (Date.now() >= deadline) throw new TaskTimeoutError(`task ${taskId} not finished after ${timeoutMs} ms (state: ${record.state})`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
    }
  }

  /**
   * The task's record each time it changes (state, owner, attempt, progress, cancel), polled
   * every `pollMs`, until it has finished (the last one yielded). Throws TaskNotFoundError for an
   * unknown id.
   */
  watch(taskId: string, options: WatchOptions = {}): AsyncGenerator<TaskRecord, void> {
    checkInput(TaskIdSchema, taskId, "taskId");
    checkInput(WatchOptionsSchema, options, "watch options");
    return watchTask((id) => this.get(id), taskId, options);
  }

  /**
   * Cancels a task: a queued one at once, wherever it waits (`cancelled`); a running one gets its
   * handler's signal aborted and ends `cancelled` when the handler returns (`cancelling`; its
   * agent notices within `cancelPollMs`). `finished` when it had ended done or failed;
   * `cancelled` again for a task cancelled already (a retried cancel answers as the first did).
   * Throws TaskNotFoundError for an unknown id. Once this resolves, the task never starts again.
   */
  async cancel(taskId: string): Promise<CancelOutcome> {
    checkInput(TaskIdSchema, taskId, "taskId");
    return cancelTask(this.store, taskId, this.config.retentionMs);
  }

  /** The input with the configuration's defaults for what it leaves out (attempts, backoff, timeout). */
  private withDefaults(input: SubmitInput): SubmitInput {
    return withTaskDefaults(this.taskDefaults, input);
  }

  async close(): Promise<void> {
    await this.queues.close();
    if (this.ownsRedis) await closeRedis(this.store.redis);
  }

  private async place(task: Parameters<typeof findBestAgent>[0]): Promise<AgentView | undefined> {
    const best = findBestAgent(task, await this.currentAgents());
    // Project the placement so that a burst of submits within one snapshot spreads out.
    if (best) best.workload.queued += 1;
    return best;
  }

  /** The agents as last read, read again once older than AGENT_CACHE_MS (one read for every submit waiting on it). */
  private currentAgents(): Promise<AgentView[]> | AgentView[] {
    const startedAt = Date.now();
    if (this.agentCache && startedAt - this.agentCache.at <= AGENT_CACHE_MS) return this.agentCache.agents;
    if (this.agentsLoading) return this.agentsLoading;
    const loading: Promise<AgentView[]> = readAgents(this.store, this.config.agentTtlMs)
      .then((agents) => {
        // A view forgotten meanwhile (an agent refused a task placed from it) is not cached.
        if (this.agentsLoading === loading) this.agentCache = { at: startedAt, agents };
        return agents;
      })
      .finally(() => {
        if (this.agentsLoading === loading) this.agentsLoading = undefined;
      });
    this.agentsLoading = loading;
    return loading;
  }

  /** Drops the cached view and any reload under way: the next placement reads the agents afresh. */
  private forgetAgents(): void {
    this.agentCache = undefined;
    this.agentsLoading = undefined;
  }
}

/** Checks one input with zod; `where` goes into the message (" at index 3"). */
function parseInput(input: SubmitInput, where: string): ParsedInput {
  const { agentId, ...spec } = input;
  const parsed = safeParseTaskSpec(spec);
  if (!parsed.success) throw new TypeError(`invalid task${where}: ${describeZodError(parsed.error)}`);
  if (agentId !== undefined && !AgentIdSchema.safeParse(agentId).success) throw new TypeError(`invalid agentId${where}: ${agentId}`);
  if (agentId !== undefined && isDelayed(parsed.data))
    throw new TypeError(`invalid task${where}: agentId: a delayed task (delayMs, runAt) has no owner until it is due; leave agentId out`);
  return { task: parsed.data, agentId, payloadJson: parsed.payloadJson };
}

function submitted(task: TaskSpec, result: SubmitResult): Submitted {
  return { taskId: task.id, owner: result.owner || undefined, epoch: result.epoch, created: result.created };
}
