import type { Logger } from "pino";
import type { AgentView } from "@worksteal/protocol";
import { findBestAgent } from "@worksteal/planner";
import {
  type AgentQueues,
  forgetUnassigned,
  isRefusedAgent,
  promoteDueTasks,
  readUnassignedPage,
  type Store,
  TaskAlreadyPlacedError,
  TaskNotFoundError,
} from "@worksteal/store";
import type { AgentDirectory } from "./agent-directory.js";
import { readFleet } from "./fleet-view.js";

const PLACE_BATCH = 100;

/**
 * Places tasks that waited because no live agent could run them. `assign` compares state and
 * epoch, so two replicas placing at once place each task once. Each round looks at the next
 * batch of the waiting set, so tasks that nobody can run yet never hide the ones behind them.
 * Delayed tasks join the waiting set when due; a batch is placed highest priority first.
 */
export class Placer {
  private offset = 0;

  constructor(
    private readonly store: Store,
    private readonly queues: AgentQueues,
    private readonly directory: AgentDirectory,
    private readonly log: Logger,
  ) {}

  /** Returns how many tasks were placed this round. `agents`: the fleet as the leader round read it (read here when not given). */
  async place(agents?: AgentView[]): Promise<number> {
    const { store } = this;
    await promoteDueTasks(store, PLACE_BATCH);
    const ids = await readUnassignedPage(store, this.offset, PLACE_BATCH);
    if (ids.length === 0) {
      this.offset = 0;
      return 0;
    }
    // Copies: each placement counts the task it adds, and the caller's views stay as read.
    const fleet = (agents ?? (await readFleet(store, this.directory))).map((a) => ({ ...a, workload: { ...a.workload } }));
    let placed = 0;
    const records = [];
    for (const id of ids) {
      const record = await store.getTask(id);
      if (record) records.push(record);
      else await forgetUnassigned(store, id);
    }
    records.sort((a, b) => b.priority - a.priority);
    for (const record of records) {
      const { id } = record;
      const best = findBestAgent(record, fleet);
      if (!best) continue;
      try {
        const epoch = await store.assign(id, best.id, record.epoch);
        await this.queues.enqueue(best.id, id, epoch, Math.max(1, record.maxAttempts - record.attempts));
        best.workload.queued += 1;
        placed += 1;
      } catch (error) {
        // An agent that stopped taking tasks since the read: the task waits for the next round.
        if (!(error instanceof TaskAlreadyPlacedError || error instanceof TaskNotFoundError || isRefusedAgent(error))) throw error;
      }
    }
    // Placed tasks left the set; skip over the ones that still wait, back to the start at the end.
    this.offset = ids.length < PLACE_BATCH ? 0 : this.offset + ids.length - placed;
    if (placed > 0) this.log.info({ placed }, "placed waiting tasks");
    return placed;
  }
}
