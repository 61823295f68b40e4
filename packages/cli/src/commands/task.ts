import type { TaskRecord } from "@worksteal/protocol";
import { cancelTask, readTaskRecord, TaskNotFoundError } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatTime } from "../format.js";
import { formatPairs } from "../table.js";

const TIME_FIELDS = new Set(["createdAt", "updatedAt", "startedAt", "finishedAt", "runAt", "cancelRequestedAt", "progressAt"]);
/** Shown under names a BullMQ user reads at a glance: the attempt a run is on, the last attempt's error, when the next one runs. */
const LABELS: Record<string, string> = { attempts: "attempt", error: "last error", runAt: "next run" };

export function taskLines(task: TaskRecord): string {
  const pairs: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(task)) {
    if (value === undefined) continue;
    let text: string;
    if (TIME_FIELDS.has(key) && typeof value === "number") text = `${value} (${formatTime(value)})`;
    else if (key === "owner" && value === "") text = "(unassigned)";
    else if (key === "requiredCapabilities" && Array.isArray(value)) text = value.length > 0 ? value.join(", ") : "(none)";
    else text = typeof value === "string" ? value : JSON.stringify(value);
    pairs.push([LABELS[key] ?? key, text]);
  }
  return formatPairs(pairs);
}

/** `task cancel <id>`: cancels it (queued: at once; running: its handler's signal is aborted). Exit 1 for an unknown task. */
export async function runCancel(ctx: CommandContext, taskId: string): Promise<number> {
  let outcome;
  try {
    outcome = await cancelTask(ctx.store, taskId, ctx.config.retentionMs);
  } catch (error) {
    if (!(error instanceof TaskNotFoundError)) throw error;
    ctx.err(`task ${taskId} not found`);
    return EXIT.notFound;
  }
  const text = {
    cancelled: `task ${taskId} cancelled`,
    cancelling: `task ${taskId} is running: its handler's signal is aborted, it ends cancelled when the handler returns`,
    finished: `task ${taskId} had already finished: nothing changed`,
  }[outcome];
  ctx.out(ctx.json ? JSON.stringify({ taskId, outcome }) : text);
  return EXIT.ok;
}

export async function runTask(ctx: CommandContext, taskId: string): Promise<number> {
  const parsed = await readTaskRecord(ctx.store, taskId);
  if (parsed === undefined) {
    ctx.err(`task ${taskId} not found`);
    return EXIT.notFound;
  }
  if (!parsed.ok) {
    ctx.err(`task ${taskId}: unreadable record: ${parsed.reason}`);
    return EXIT.failure;
  }
  ctx.out(ctx.json ? JSON.stringify(parsed.value) : taskLines(parsed.value));
  return EXIT.ok;
}
