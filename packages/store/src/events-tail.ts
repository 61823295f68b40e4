import { parseEventEntry, type WorkstealEvent } from "@worksteal/protocol";
import type { RedisConnection } from "./connection.js";
import type { Store } from "./store.js";

/** An event-stream entry as a reader shows it: the event, or why it does not parse. */
export type TailEntry = { id: string; event: WorkstealEvent } | { id: string; invalid: string };

/** Entries one backward page reads while looking for `kind`. */
const PAGE = 500;

function toTailEntry(id: string, fields: string[]): TailEntry {
  const parsed = parseEventEntry(fields);
  return parsed.ok ? { id, event: parsed.event } : { id, invalid: parsed.reason };
}

const kindMatches = (entry: TailEntry, kinds: ReadonlySet<string> | undefined) => kinds === undefined || ("event" in entry && kinds.has(entry.event.kind));

/**
 * The last `count` entries (of `kinds`, when given), oldest first. Reads backwards a page at a
 * time and looks at no more than `maxScanned` entries: a rare kind is not searched for through
 * the whole stream. Returns the id of the newest entry read, for a follow to go on from.
 */
export async function tailEvents(
  store: Store,
  count: number,
  kinds: ReadonlySet<string> | undefined,
  maxScanned: number,
): Promise<{ entries: TailEntry[]; lastId: string }> {
  const found: TailEntry[] = [];
  let end = "+";
  let scanned = 0;
  let lastId = "$";
  while (found.length < count && scanned < maxScanned) {
    const page = await store.redis.xrevrange(store.keys.events, end, "-", "COUNT", Math.min(PAGE, maxScanned - scanned));
    if (page.length === 0) break;
    if (lastId === "$") lastId = page[0]![0];
    scanned += page.length;
    for (const [id, fields] of page) {
      const entry = toTailEntry(id, fields);
      if (kindMatches(entry, kinds) && found.length < count) found.push(entry);
    }
    end = `(${page[page.length - 1]![0]}`;
  }
  if (lastId === "$") lastId = (await store.redis.xrevrange(store.keys.events, "+", "-", "COUNT", 1))[0]?.[0] ?? "0-0";
  return { entries: found.reverse(), lastId };
}

/**
 * Entries after `afterId`, waiting up to `blockMs` for some (XREAD BLOCK, on `blocking`: the
 * connection waits). Returns them (of `kinds`, when given) and the id to read on from.
 */
export async function readEventsAfter(
  store: Store,
  blocking: RedisConnection,
  afterId: string,
  blockMs: number,
  kinds: ReadonlySet<string> | undefined,
): Promise<{ entries: TailEntry[]; lastId: string }> {
  const reply = await blocking.xread("COUNT", PAGE, "BLOCK", blockMs, "STREAMS", store.keys.events, afterId);
  const page = reply?.[0]?.[1] ?? [];
  const entries = page.map(([id, fields]) => toTailEntry(id, fields)).filter((e) => kindMatches(e, kinds));
  return { entries, lastId: page.length > 0 ? page[page.length - 1]![0] : afterId };
}
