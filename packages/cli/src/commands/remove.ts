import { AgentQueues, type RemoveAgentResult } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatDuration } from "../format.js";

/**
 * How long `agent remove` waits for the coordinators to fold the events still about the agent
 * (the script refuses until then): a running coordinator folds within a second.
 */
export const REMOVE_FOLD_WAIT_MS = 10_000;
const POLL_MS = 250;

/** What `agent remove --json` prints on success. */
export interface RemoveResult {
  agentId: string;
  removed: true;
}

/** Why the script refused, as one line for people. */
function refusal(agentId: string, result: Exclude<RemoveAgentResult, { removed: true }>, agentTtlMs: number): string {
  switch (result.reason) {
    case "unknown":
      return `agent ${agentId} is not registered`;
    case "alive":
      return `agent ${agentId} is alive (heartbeat ${formatDuration(result.heartbeatAgeMs ?? 0)} ago, within ${agentTtlMs}ms): stop it first, or drain it`;
    case "holds-tasks":
      return `agent ${agentId} still holds ${result.queued} queued and ${result.running} running tasks: a coordinator moves them to live agents; remove it once they are gone`;
    case "has-jobs":
      return `agent ${agentId} still has ${result.jobs} jobs waiting or active in its queue: a coordinator clears them; try again shortly`;
    case "unfolded":
      return `events about agent ${agentId} are not folded yet after ${REMOVE_FOLD_WAIT_MS / 1000}s: is a coordinator running? try again`;
  }
}

/**
 * Removes a dead agent that holds no task: its hash, sets, workload and BullMQ queue. Refuses
 * (exit 1) a live agent, one holding tasks or jobs, or one with events still to fold after
 * waiting for them a while.
 */
export async function runRemove(ctx: CommandContext, agentId: string): Promise<number> {
  const started = Date.now();
  let result = await ctx.store.removeAgent(agentId, ctx.config.agentTtlMs);
  while (!result.removed && result.reason === "unfolded" && Date.now() - started < REMOVE_FOLD_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    result = await ctx.store.removeAgent(agentId, ctx.config.agentTtlMs);
  }
  if (!result.removed) {
    ctx.err(refusal(agentId, result, ctx.config.agentTtlMs));
    return EXIT.failure;
  }
  const queues = new AgentQueues(ctx.store.redis, ctx.store.keys);
  try {
    await queues.obliterate(agentId);
  } finally {
    await queues.close();
  }
  if (ctx.json) ctx.out(JSON.stringify({ agentId, removed: true } satisfies RemoveResult));
  else ctx.out(`agent ${agentId}: removed`);
  return EXIT.ok;
}
