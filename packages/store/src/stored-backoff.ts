import { type Backoff, parseBackoffText } from "@worksteal/protocol";

/** Distinct backoff texts remembered; past this the memo starts over (a fleet uses a handful). */
const MAX_REMEMBERED = 64;

const parsed = new Map<string, Readonly<Backoff>>();

/**
 * A task record's backoff (its text: protocol's `storedBackoffText`), validated. Nearly every
 * task carries the same text (the configuration's default), so each distinct text is parsed and
 * checked once and the frozen result shared: a claim then costs no zod parse.
 */
export function parseStoredBackoff(text: string): Readonly<Backoff> {
  let backoff = parsed.get(text);
  if (backoff === undefined) {
    backoff = Object.freeze(parseBackoffText(text));
    if (parsed.size >= MAX_REMEMBERED) parsed.clear();
    parsed.set(text, backoff);
  }
  return backoff;
}
