import { type AgentStatus, WorkstealError } from "@worksteal/protocol";
import { AgentUnknownError, type DrainProgress, readAgentStatus, readDrainProgress, readStatusField } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatDuration } from "../format.js";

export const DEFAULT_DRAIN_TIMEOUT_S = 60;
/** How often --wait reads the agent hash. */
export const DRAIN_POLL_MS = 250;
/** How often --wait reports progress on stderr. */
const PROGRESS_MS = 1000;

/** What `agent drain --json` prints. */
export interface DrainResult {
  agentId: string;
  /** The agent hash's status after the request: draining, or drained (already, or once --wait saw it). */
  status: string;
  /** Its status before the request as `agents` shows it (liveness included): alive, draining, drained or dead. */
  previous: AgentStatus;
}

/** --wait ended without the agent drained: one line, exit 1. */
class DrainWaitError extends WorkstealError {
  override name = "DrainWaitError";
}

const counts = (p: DrainProgress) => `${p.queued} queued, ${p.running} running`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls every DRAIN_POLL_MS until the agent hash says drained, or it stops draining (gone, or
 * registered again), or `timeoutMs` passes; reports progress on stderr once a second.
 */
async function waitUntilDrained(ctx: CommandContext, agentId: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let reported = -Infinity;
  for (;;) {
    const progress = await readDrainProgress(ctx.store, agentId);
    const waited = Date.now() - started;
    if (progress.status === "drained") return waited;
    if (progress.status === null) throw new DrainWaitError(`agent ${agentId} is no longer registered`);
    if (progress.status !== "draining") {
      throw new DrainWaitError(`agent ${agentId} stopped draining (status ${progress.status}: it registered again)`);
    }
    if (waited >= timeoutMs) {
      throw new DrainWaitError(`agent ${agentId} did not drain within ${timeoutMs / 1000}s: still draining with ${counts(progress)}`);
    }
    if (waited - reported >= PROGRESS_MS) {
      ctx.err(`agent ${agentId}: draining, ${counts(progress)} (waited ${formatDuration(waited)})`);
      reported = waited;
    }
    await sleep(Math.min(DRAIN_POLL_MS, timeoutMs - waited));
  }
}

export async function runDrain(ctx: CommandContext, agentId: string, wait: { timeoutMs: number } | undefined): Promise<number> {
  const unknown = () => {
    ctx.err(`agent ${agentId} is not registered`);
    return EXIT.notFound;
  };
  const previous = await readAgentStatus(ctx.store, agentId, ctx.config.agentTtlMs);
  if (previous === undefined) return unknown();
  try {
    await ctx.store.drain(agentId);
  } catch (error) {
    if (error instanceof AgentUnknownError) return unknown();
    throw error;
  }
  const status = (await readStatusField(ctx.store, agentId)) ?? "draining";
  const result: DrainResult = { agentId, status, previous };
  if (previous === "dead") {
    ctx.err(`agent ${agentId} is dead (no heartbeat within ${ctx.config.agentTtlMs}ms): it learns of the drain only if it comes back`);
  }
  // With --wait, --json prints the one object once the agent is drained.
  if (!ctx.json) ctx.out(`agent ${agentId}: ${status} (was ${previous})`);
  else if (wait === undefined || status === "drained") ctx.out(JSON.stringify(result));
  if (wait === undefined || status === "drained") return EXIT.ok;

  let waited: number;
  try {
    waited = await waitUntilDrained(ctx, agentId, wait.timeoutMs);
  } catch (error) {
    if (!(error instanceof DrainWaitError)) throw error;
    ctx.err(error.message);
    return EXIT.failure;
  }
  if (ctx.json) ctx.out(JSON.stringify({ ...result, status: "drained" } satisfies DrainResult));
  else ctx.out(`agent ${agentId}: drained (after ${formatDuration(waited)})`);
  return EXIT.ok;
}
