import type { StealOperation } from "@worksteal/protocol";
import { readSteals } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatTime, truncate } from "../format.js";
import { formatTable } from "../table.js";

export const DEFAULT_STEAL_LIMIT = 20;

export function stealsTable(steals: readonly StealOperation[]): string {
  return formatTable(
    ["FINISHED", "DIRECTIVE", "SOURCE → TARGET", "REQUESTED", "MOVED", "STATUS", "REASON"],
    steals.map((s) => [
      formatTime(s.finishedAt),
      s.directiveId,
      `${s.source} → ${s.target}`,
      s.requested,
      s.taskIds.length,
      s.status,
      truncate(s.detail ? `${s.reason}; ${s.detail}` : s.reason, 80),
    ]),
  );
}

export async function runSteals(ctx: CommandContext, limit: number): Promise<number> {
  const { steals, skipped } = await readSteals(ctx.store, limit);
  for (const s of skipped) ctx.err(`steal ${s.directiveId}: skipped: ${s.reason}`);
  if (ctx.json) ctx.out(JSON.stringify(steals));
  else if (steals.length === 0 && skipped.length === 0) ctx.out(`no steal operations in namespace ${ctx.store.namespace}`);
  else if (steals.length > 0) ctx.out(stealsTable(steals));
  return EXIT.ok;
}
