import { AgentUnknownError, readStatusField } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";

/** What `agent undrain --json` prints. */
export interface UndrainResult {
  agentId: string;
  status: "alive";
  previous: string;
}

/**
 * Takes a draining or drained agent back: it may be given tasks again, and it resumes taking
 * jobs at its next heartbeat. Idempotent; an unknown agent is exit 1.
 */
export async function runUndrain(ctx: CommandContext, agentId: string): Promise<number> {
  const previous = (await readStatusField(ctx.store, agentId)) ?? "unknown";
  try {
    await ctx.store.undrain(agentId);
  } catch (error) {
    if (!(error instanceof AgentUnknownError)) throw error;
    ctx.err(`agent ${agentId} is not registered`);
    return EXIT.notFound;
  }
  if (ctx.json) ctx.out(JSON.stringify({ agentId, status: "alive", previous } satisfies UndrainResult));
  else ctx.out(`agent ${agentId}: ${previous} -> alive`);
  return EXIT.ok;
}
