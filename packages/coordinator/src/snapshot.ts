import type { Queue } from "bullmq";
import { type AgentView, type Config, type Directive, DirectiveSchema, parseJobId } from "@worksteal/protocol";
import { needsTail, type PlannerSnapshot, projectDirectives, type TaskSummary, victimsToRead } from "@worksteal/planner";
import { readDurationStats, readLastQueuedJobIds, readTaskFields, type Store, type TaskFields } from "@worksteal/store";
import type { AgentDirectory } from "./agent-directory.js";

export interface SnapshotOptions extends Pick<Config, "minTasksToSteal" | "strategy"> {
  /** How many of the newest queued jobs of each victim the planner may choose from. */
  tailLength: number;
}

/** An agent that runs below its slots with nothing queued: one a steal would put to work at once. */
export function isIdle(agent: AgentView): boolean {
  return agent.status === "alive" && agent.workload.queued === 0 && agent.workload.running < agent.concurrency;
}

/**
 * What the planner sees, or undefined when there is nothing to plan: no agent idle while
 * another holds a backlog (a balanced fleet plans nothing and costs no further read). Agents
 * come with exact counts (`agents`, from the directory and the task sets); the newest queued
 * tasks are read for the busiest victims only, as many as the idle agents could use; cpu, memory
 * and each one's completions (its average, its speed) are read for the idle agents and those
 * victims; durations per task type, with the
 * completions each rests on; and
 * this leadership's directives still in flight projected in as if done, so a steal is not
 * planned twice.
 */
export async function takeSnapshot(
  store: Store,
  directory: AgentDirectory,
  agents: AgentView[],
  directives: Queue<Directive>,
  fence: number,
  round: number,
  options: SnapshotOptions,
): Promise<PlannerSnapshot | undefined> {
  const idle = agents.filter(isIdle);
  if (idle.length === 0) return undefined;
  const victims = agents
    .filter((a) => needsTail(a, options))
    .sort((a, b) => b.workload.queued - a.workload.queued)
    .slice(0, victimsToRead(idle.length));
  if (victims.length === 0) return undefined;
  const completions = await directory.withFreshMetrics([...idle, ...victims]);
  const tails: Record<string, TaskSummary[]> = {};
  await Promise.all(
    victims.map(async (a) => {
      tails[a.id] = await readTail(store, a.id, options.tailLength);
    }),
  );
  // The idle agents and the victims with their completions, as copies (see withFreshMetrics).
  const live = agents
    .filter((a) => a.status !== "dead")
    .map((a) => {
      const read = completions.get(a.id);
      return read ? { ...a, workload: { ...a.workload, ...read } } : a;
    });
  // With the counts, a task's estimatedDurationMs is a prior that its type's average outweighs as completions accumulate.
  const durations = await readDurationStats(store);
  const snapshot: PlannerSnapshot = { agents: live, tails, durationsByType: durations.averages, durationCountsByType: durations.counts, round };
  const inFlight = (await directives.getJobs(["wait", "active", "delayed", "prioritized"]))
    .map((job) => DirectiveSchema.safeParse(job?.data))
    // Directives of older fences will be rejected by the move script: they change nothing.
    .flatMap((p) => (p.success && p.data.fence === fence ? [p.data] : []));
  if (inFlight.length === 0) return snapshot;
  return projectDirectives(await withNamedTasksInFlight(store, snapshot, inFlight), inFlight);
}

/**
 * The snapshot with the tasks in-flight directives name that are still queued on their source but
 * not in its tail (older than the tail's newest, or the source was not read) added at the tail's
 * end, so that projecting the directives moves them: else the target would look as empty as
 * before its steal, and be fed again.
 */
async function withNamedTasksInFlight(store: Store, snapshot: PlannerSnapshot, inFlight: readonly Directive[]): Promise<PlannerSnapshot> {
  const missing: Array<{ source: string; taskId: string }> = [];
  for (const d of inFlight) {
    const tail = snapshot.tails[d.source] ?? [];
    for (const taskId of d.taskIds ?? []) if (!tail.some((t) => t.id === taskId)) missing.push({ source: d.source, taskId });
  }
  if (missing.length === 0) return snapshot;
  const records = await readTaskFields(
    store,
    missing.map((m) => m.taskId),
  );
  const tails = { ...snapshot.tails };
  missing.forEach(({ source, taskId }, i) => {
    const record = records[i];
    // A record whose epoch is not a job's (hand-edited) names no job the executor could move.
    if (record?.owner !== source || record.state !== "queued" || !(Number.isInteger(record.epoch) && record.epoch >= 1)) return;
    const tail = tails[source] ?? [];
    // Two directives may name one task; the projection moves it once.
    if (tail.some((t) => t.id === taskId)) return;
    tails[source] = [...tail, summaryOf(taskId, record)];
  });
  return { ...snapshot, tails };
}

/** What the planner weighs of a queued task; a priority that is not a number (hand-edited) weighs as the default. */
function summaryOf(taskId: string, record: TaskFields): TaskSummary {
  const { type, requiredCapabilities, estimatedDurationMs, epoch } = record;
  const priority = Number.isFinite(record.priority) ? record.priority : 0;
  return { id: taskId, type, requiredCapabilities, priority, epoch, ...(estimatedDurationMs === undefined ? {} : { estimatedDurationMs }) };
}

/** The queued tasks of an agent it will run last, with what the planner needs of each. */
async function readTail(store: Store, agentId: string, length: number): Promise<TaskSummary[]> {
  // Job ids carry task id and epoch: reading ids only spares fetching and parsing every job.
  const data = (await readLastQueuedJobIds(store, agentId, length)).flatMap((id) => parseJobId(id) ?? []);
  if (data.length === 0) return [];
  const records = await readTaskFields(
    store,
    data.map((d) => d.taskId),
  );
  return data.flatMap(({ taskId, epoch }, i) => {
    const record = records[i];
    // Leftover jobs of tasks that moved or started are not candidates.
    if (record?.owner !== agentId || record.epoch !== epoch || record.state !== "queued") return [];
    return [summaryOf(taskId, record)];
  });
}
