import { listTasks, type TaskFilter, type TaskRow } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatAge } from "../format.js";
import { formatTable } from "../table.js";

export const DEFAULT_TASKS_LIMIT = 50;

/** What `tasks --json` prints: the page, and the cursor for the next one (null at the end). */
export interface TasksPage {
  tasks: TaskRow[];
  next: string | null;
}

export function tasksTable(tasks: readonly TaskRow[], now: number): string {
  return formatTable(
    ["ID", "TYPE", "STATE", "OWNER", "EPOCH", "ATTEMPTS", "UPDATED"],
    tasks.map((t) => [t.id, t.type, t.state, t.owner === "" ? "(unassigned)" : t.owner, t.epoch, t.attempts, formatAge(t.updatedAt, now)]),
  );
}

export async function runTasks(ctx: CommandContext, filter: TaskFilter, limit: number, cursor: string): Promise<number> {
  const [page, now] = await Promise.all([listTasks(ctx.store, filter, limit, cursor), ctx.store.now()]);
  const next = page.cursor === "0" ? null : page.cursor;
  if (ctx.json) {
    ctx.out(JSON.stringify({ tasks: page.tasks, next } satisfies TasksPage));
    return EXIT.ok;
  }
  if (page.tasks.length > 0) ctx.out(tasksTable(page.tasks, now));
  else if (next === null) ctx.out(`no matching tasks in namespace ${ctx.store.namespace}`);
  // A page may end short of the limit (the scan stops after a bounded number of calls): more may follow.
  if (next !== null) ctx.out(`more: worksteal tasks --cursor ${next} (with the same filters)`);
  return EXIT.ok;
}
