import type { AgentQueues } from "./queues.js";

/** BullMQ's counts of one agent's queue (finished jobs are not kept: the task records hold outcomes). */
export interface QueueCounts {
  agentId: string;
  /** Jobs not yet taken: BullMQ's wait and prioritized lists. */
  waiting: number;
  active: number;
  delayed: number;
}

/** BullMQ's job counts for each agent's queue, one round trip per agent. */
export async function readQueueCounts(queues: AgentQueues, agentIds: readonly string[]): Promise<QueueCounts[]> {
  return Promise.all(
    agentIds.map(async (agentId) => {
      const c = await queues.get(agentId).getJobCounts("wait", "prioritized", "active", "delayed");
      return {
        agentId,
        waiting: (c.wait ?? 0) + (c.prioritized ?? 0),
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
      };
    }),
  );
}
