import { type StealOperation, StealOperationSchema } from "@worksteal/protocol";
import type { Store } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatTime, truncate } from "../format.js";
import { parseRecord } from "../records.js";
import { formatTable } from "../table.js";

export const DEFAULT_STEAL_LIMIT = 20;

export interface StealRead {
  /** Newest first (by finish time, the sorted set's score). */
  steals: StealOperation[];
  /** Directive ids listed in the sorted set whose hash is gone or unreadable, with the reason. */
  skipped: Array<{ directiveId: string; reason: string }>;
}

export async function readSteals(store: Store, limit: number): Promise<StealRead> {
  const ids = await store.redis.zrevrange(store.keys.steals, 0, limit - 1);
  if (ids.length === 0) return { steals: [], skipped: [] };
  const pipeline = store.redis.pipeline();
  for (const id of ids) pipeline.hgetall(store.keys.steal(id));
  const replies = (await pipeline.exec()) ?? [];
  const result: StealRead = { steals: [], skipped: [] };
  ids.forEach((directiveId, i) => {
    const [error, value] = replies[i] ?? [new Error("no reply"), null];
    if (error) throw error;
    const hash = value as Record<string, string>;
    if (Object.keys(hash).length === 0) {
      result.skipped.push({ directiveId, reason: "record expired or missing" });
      return;
    }
    const parsed = parseRecord(StealOperationSchema, hash);
    if (parsed.ok) result.steals.push(parsed.value);
    else result.skipped.push({ directiveId, reason: parsed.reason });
  });
  return result;
}

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
