import { readEventsAfter, tailEvents, type TailEntry } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatTime, truncate } from "../format.js";

export const DEFAULT_TAIL_LIMIT = 20;
/** Entries read backwards at most while looking for the kinds asked for. */
const MAX_SCANNED = 10_000;
/** One XREAD BLOCK wait; well under the CLI's command timeout, and how long Ctrl-C may take to end a follow. */
const BLOCK_MS = 1000;

/** `1700000000000-0 12:00:00.000Z task:stolen {...}`: the stream id, its time, the kind and the rest. */
export function tailLine(entry: TailEntry): string {
  const time = formatTime(Number(entry.id.split("-")[0])).slice(11);
  if ("invalid" in entry) return `${entry.id}  ${time}  (invalid: ${entry.invalid})`;
  const { kind, ...rest } = entry.event;
  return `${entry.id}  ${time}  ${kind.padEnd(16)}  ${truncate(JSON.stringify(rest), 160)}`;
}

export async function runEventsTail(ctx: CommandContext, args: { limit: number; kinds: string[] | undefined; follow: boolean }): Promise<number> {
  const kinds = args.kinds === undefined ? undefined : new Set(args.kinds);
  // --json: one object per line (JSON Lines), so that a follow can be read as it goes.
  const print = (entries: readonly TailEntry[]) => entries.forEach((e) => ctx.out(ctx.json ? JSON.stringify(e) : tailLine(e)));
  const first = await tailEvents(ctx.store, args.limit, kinds, MAX_SCANNED);
  print(first.entries);
  if (!args.follow) {
    if (!ctx.json && first.entries.length === 0) ctx.out(`no ${kinds ? "matching " : ""}events in namespace ${ctx.store.namespace}`);
    return EXIT.ok;
  }
  let stopped = false;
  const release = ctx.io.onInterrupt?.(() => {
    stopped = true;
  });
  try {
    let after = first.lastId;
    while (!stopped) {
      const next = await readEventsAfter(ctx.store, ctx.store.redis, after, BLOCK_MS, kinds);
      print(next.entries);
      after = next.lastId;
    }
  } finally {
    release?.();
  }
  return EXIT.ok;
}
