import { TASK_STATES } from "@worksteal/protocol";
import { scanNodeFor } from "./connection.js";
import { replyValues } from "./replies.js";
import type { Store } from "./store.js";

/** One row of `worksteal tasks`: the fields a listing shows, read with HMGET. */
export interface TaskRow {
  id: string;
  type: string;
  owner: string;
  state: string;
  epoch: number;
  attempts: number;
  createdAt: number;
  updatedAt: number;
}

export interface TaskFilter {
  state?: (typeof TASK_STATES)[number];
  /** Owner agent id; "" lists the unassigned. */
  agent?: string;
  type?: string;
}

export interface TaskPage {
  tasks: TaskRow[];
  /** SCAN cursor to pass back for the next page; "0" when the scan is complete. */
  cursor: string;
  /** Keys the scan looked at for this page. */
  scanned: number;
}

/** Keys asked of each SCAN call at most; a small page asks for fewer, to overshoot its limit less. */
const SCAN_COUNT = 500;
const MIN_SCAN_COUNT = 10;
/**
 * SCAN calls one page may make: a filter that matches little stops here and hands back its
 * cursor, so a page costs a bounded number of round trips whatever the keyspace holds.
 */
const MAX_SCANS_PER_PAGE = 40;
const FIELDS = ["id", "type", "owner", "state", "epoch", "attempts", "createdAt", "updatedAt"] as const;

const matches = (row: TaskRow, filter: TaskFilter) =>
  (filter.state === undefined || row.state === filter.state) &&
  (filter.agent === undefined || row.owner === filter.agent) &&
  (filter.type === undefined || row.type === filter.type);

/**
 * A page of task records matching `filter`, found by SCAN over the namespace's task keys
 * (never KEYS), from `cursor`: SCAN batches are read until `limit` rows matched, the scan ended,
 * or MAX_SCANS_PER_PAGE calls were made. A page holds every match of the batches it read, so it
 * may hold a few more than `limit` rows: cutting a batch short would skip the rest of it, as the
 * cursor has moved past. SCAN may return a key twice across pages of one scan (a rehash); rows
 * are unique within a page. Order is Redis's hash order, not time.
 */
export async function listTasks(store: Store, filter: TaskFilter, limit: number, cursor = "0"): Promise<TaskPage> {
  const pattern = `${store.keys.prefix}task:*`;
  const seen = new Set<string>();
  const tasks: TaskRow[] = [];
  let next = cursor;
  let scanned = 0;
  const count = Math.min(SCAN_COUNT, Math.max(MIN_SCAN_COUNT, limit));
  for (let call = 0; call < MAX_SCANS_PER_PAGE && tasks.length < limit; call++) {
    const [after, keys] = await (await scanNodeFor(store.redis, pattern)).scan(next, "MATCH", pattern, "COUNT", count);
    next = after;
    scanned += keys.length;
    const fresh = keys.filter((key) => !seen.has(key));
    fresh.forEach((key) => seen.add(key));
    if (fresh.length > 0) {
      const pipeline = store.redis.pipeline();
      for (const key of fresh) pipeline.hmget(key, ...FIELDS);
      for (const value of replyValues(await pipeline.exec(), "task records")) {
        const [id, type, owner, state, epoch, attempts, createdAt, updatedAt] = value as Array<string | null>;
        // A key of another shape under task:* (a hand edit), or a record deleted meanwhile.
        if (id === null || id === undefined || state === null || state === undefined) continue;
        const row = {
          id,
          type: type ?? "default",
          owner: owner ?? "",
          state,
          epoch: Number(epoch ?? 0),
          attempts: Number(attempts ?? 0),
          createdAt: Number(createdAt ?? 0),
          updatedAt: Number(updatedAt ?? 0),
        };
        if (matches(row, filter)) tasks.push(row);
      }
    }
    if (next === "0") break;
  }
  return { tasks, cursor: next, scanned };
}
