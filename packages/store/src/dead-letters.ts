import { parseEventEntry } from "@worksteal/protocol";
import type { Store } from "./store.js";

/** A dead letter as fold-4.lua writes it: the refused entry's id, why, and a bounded copy of its fields. */
export interface DeadLetter {
  id: string;
  sourceId: string;
  reason: string;
  /** Fields the refused entry had; more than `fields` holds when the copy was cut. */
  fieldCount: number;
  /** The copied fields, flat `[name, value, ...]` as they were in the event stream. */
  fields: string[];
}

export type ReplayResult = { replayed: true; eventId: string } | { replayed: false; reason: string } | undefined;

function toDeadLetter(id: string, flat: readonly string[]): DeadLetter {
  const head: Record<string, string> = {};
  let i = 0;
  // The three fields the script writes first; the copy of the entry follows them.
  for (; i + 1 < flat.length && i < 6; i += 2) head[flat[i]!] = flat[i + 1]!;
  return { id, sourceId: head.sourceId ?? "", reason: head.reason ?? "", fieldCount: Number(head.fieldCount ?? 0), fields: flat.slice(i) };
}

/** Dead letters, newest first: `count` of them before `before` (an id, exclusive), or the newest. */
export async function listDeadLetters(store: Store, count: number, before?: string): Promise<DeadLetter[]> {
  const end = before === undefined ? "+" : `(${before}`;
  const entries = await store.redis.xrevrange(store.keys.deadLetter, end, "-", "COUNT", count);
  return entries.map(([id, flat]) => toDeadLetter(id, flat));
}

export async function readDeadLetter(store: Store, id: string): Promise<DeadLetter | undefined> {
  const [entry] = await store.redis.xrange(store.keys.deadLetter, id, id);
  return entry ? toDeadLetter(entry[0], entry[1]) : undefined;
}

/** Deletes a dead letter; false when there was none with that id. */
export async function dropDeadLetter(store: Store, id: string): Promise<boolean> {
  return (await store.redis.xdel(store.keys.deadLetter, id)) === 1;
}

/**
 * Appends a dead letter's original entry to the event stream again, and drops the dead letter,
 * atomically and once, but only if the entry now parses as an event (a bug since fixed in the
 * parser, say). The fold's own checks still apply when it is folded: a task event's marker names the
 * entry's old stream id, not the new one, and an old event's time is far behind the clock, so such
 * an entry is dead-lettered again.
 */
export async function replayDeadLetter(store: Store, id: string): Promise<ReplayResult> {
  const letter = await readDeadLetter(store, id);
  if (letter === undefined) return undefined;
  if (letter.fields.length / 2 < letter.fieldCount) {
    return { replayed: false, reason: `only ${letter.fields.length / 2} of its ${letter.fieldCount} fields were kept` };
  }
  const parsed = parseEventEntry(letter.fields);
  if (!parsed.ok) return { replayed: false, reason: `it still does not parse: ${parsed.reason}` };
  // Both or neither, and once: a second replay of the same letter at the same time finds it gone.
  const eventId = await store.replayDeadLetter(id, letter.fields[1]!);
  return eventId === undefined ? undefined : { replayed: true, eventId };
}
