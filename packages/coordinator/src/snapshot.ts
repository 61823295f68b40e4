import type { Queue } from "bullmq";
import { type AgentView, type Directive, DirectiveSchema, parseJobId } from "@worksteal/protocol";
import { type PlannerSnapshot, projectDirectives, type TaskSummary } from "@worksteal/planner";
import { type AgentQueues, QUEUED_JOB_STATES, readAgents, readDurationAverages, readTaskFields, type Store } from "@worksteal/store";

export interface SnapshotOptions {
  agentTtlMs: number;
  /** How many of the newest queued jobs of each agent the planner may choose from. */
  tailLength: number;
  minTasksToSteal: number;
}

/**
 * What the planner sees: every agent with its queue counts read from BullMQ itself (the folded
 * counters may lag a moment behind moves; the queue is the truth about what can be stolen), the
 * newest queued tasks of each agent that could be a victim, the average duration per task type,
 * and this leadership's directives still in flight projected in as if done, so a steal is not
 * planned twice.
 */
export async function takeSnapshot(
  store: Store,
  queues: AgentQueues,
  directives: Queue<Directive>,
  fence: number,
  round: number,
  options: SnapshotOptions,
): Promise<PlannerSnapshot> {
  const agents = (await readAgents(store, options.agentTtlMs)).filter((a) => a.status !== "dead");
  const live = await Promise.all(agents.map((agent) => withQueueCounts(agent, queues)));
  const tails: Record<string, TaskSummary[]> = {};
  await Promise.all(
    live
      .filter((a) => a.workload.queued >= options.minTasksToSteal)
      .map(async (a) => {
        tails[a.id] = await readTail(store, queues, a.id, options.tailLength);
      }),
  );
  const snapshot: PlannerSnapshot = { agents: live, tails, durationsByType: await readDurationAverages(store), round };
  const inFlight = (await directives.getJobs(["wait", "active", "delayed", "prioritized"]))
    .map((job) => DirectiveSchema.safeParse(job?.data))
    // Directives of older fences will be rejected by the move script: they change nothing.
    .flatMap((p) => (p.success && p.data.fence === fence ? [p.data] : []));
  return inFlight.length > 0 ? projectDirectives(snapshot, inFlight) : snapshot;
}

/** The agent with its queued and running counts read from its BullMQ queue. */
export async function withQueueCounts(agent: AgentView, queues: AgentQueues): Promise<AgentView> {
  const counts = await queues.get(agent.id).getJobCounts("wait", "prioritized", "active");
  const queued = (counts.wait ?? 0) + (counts.prioritized ?? 0);
  return { ...agent, workload: { ...agent.workload, queued, running: counts.active ?? agent.workload.running } };
}

/** The newest queued tasks of an agent, newest first, with what the planner needs of each. */
async function readTail(store: Store, queues: AgentQueues, agentId: string, length: number): Promise<TaskSummary[]> {
  // Job ids carry task id and epoch: reading ids only spares fetching and parsing every job.
  const data = (await queues.get(agentId).getRanges(QUEUED_JOB_STATES, 0, length - 1, false)).flatMap((id) => parseJobId(id) ?? []);
  if (data.length === 0) return [];
  const records = await readTaskFields(
    store,
    data.map((d) => d.taskId),
  );
  return data.flatMap(({ taskId, epoch }, i) => {
    const record = records[i];
    // Leftover jobs of tasks that moved or started are not candidates.
    if (record?.owner !== agentId || record.epoch !== epoch || record.state !== "queued") return [];
    const { type, requiredCapabilities, estimatedDurationMs } = record;
    return [{ id: taskId, type, requiredCapabilities, ...(estimatedDurationMs === undefined ? {} : { estimatedDurationMs }) }];
  });
}
