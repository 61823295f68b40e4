import type { TaskRecord } from "@worksteal/protocol";
import { readTaskRecord } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatTime } from "../format.js";
import { formatPairs } from "../table.js";

const TIME_FIELDS = new Set(["createdAt", "updatedAt", "startedAt", "finishedAt"]);

export function taskLines(task: TaskRecord): string {
  const pairs: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(task)) {
    if (value === undefined) continue;
    let text: string;
    if (TIME_FIELDS.has(key) && typeof value === "number") text = `${value} (${formatTime(value)})`;
    else if (key === "owner" && value === "") text = "(unassigned)";
    else if (key === "requiredCapabilities" && Array.isArray(value)) text = value.length > 0 ? value.join(", ") : "(none)";
    else text = typeof value === "string" ? value : JSON.stringify(value);
    pairs.push([key, text]);
  }
  return formatPairs(pairs);
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
