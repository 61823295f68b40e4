import type { Logger } from "pino";
import { findBestAgent } from "@worksteal/planner";
import { type AgentQueues, readAgents, type Store, TaskAlreadyPlacedError, TaskNotFoundError } from "@worksteal/store";

const PLACE_BATCH = 100;

/**
 * Places tasks that waited because no live agent could run them. `assign` compares state and
 * epoch, so two replicas placing at once place each task once. Returns how many were placed.
 */
export async function placeUnassigned(store: Store, queues: AgentQueues, agentTtlMs: number, log: Logger): Promise<number> {
  const ids = await store.redis.zrange(store.keys.unassigned, 0, String(PLACE_BATCH - 1));
  if (ids.length === 0) return 0;
  const agents = await readAgents(store, agentTtlMs);
  let placed = 0;
  for (const id of ids) {
    const record = await store.getTask(id);
    if (!record) {
      await store.redis.zrem(store.keys.unassigned, id);
      continue;
    }
    const best = findBestAgent(record, agents);
    if (!best) continue;
    try {
      const epoch = await store.assign(id, best.id, record.epoch);
      await queues.enqueue(best.id, id, epoch, record.maxAttempts - record.attempts);
      best.workload.queued += 1;
      placed += 1;
    } catch (error) {
      if (!(error instanceof TaskAlreadyPlacedError || error instanceof TaskNotFoundError)) throw error;
    }
  }
  if (placed > 0) log.info({ placed }, "placed waiting tasks");
  return placed;
}
