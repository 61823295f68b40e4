import { AgentQueues, readAgentIds, readQueueCounts, type QueueCounts } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatTable } from "../table.js";

export function queuesTable(counts: readonly QueueCounts[]): string {
  return formatTable(
    ["AGENT", "WAITING", "ACTIVE", "DELAYED"],
    counts.map((c) => [c.agentId, c.waiting, c.active, c.delayed]),
  );
}

/** BullMQ's counts for every registered agent's queue: jobs waiting, taken and delayed (finished jobs are not kept: the task records hold outcomes). */
export async function runQueues(ctx: CommandContext): Promise<number> {
  const ids = (await readAgentIds(ctx.store)).sort((a, b) => a.localeCompare(b));
  const queues = new AgentQueues(ctx.store.redis, ctx.store.keys, undefined, { readOnly: true });
  let counts: QueueCounts[];
  try {
    counts = await readQueueCounts(queues, ids);
  } finally {
    await queues.close();
  }
  if (ctx.json) ctx.out(JSON.stringify(counts));
  else if (counts.length === 0) ctx.out(`no agents registered in namespace ${ctx.store.namespace}`);
  else ctx.out(queuesTable(counts));
  return EXIT.ok;
}
