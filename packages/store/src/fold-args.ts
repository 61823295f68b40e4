import type { FoldEntry } from "./store.js";

/**
 * A batch as fold-4.lua reads it (see its header): the distinct key suffixes and fields once
 * each, as numbered slots, then every entry flat, its effects naming slots. No JSON: the script
 * decodes no table per entry, and a batch of completions on four agents names each of their
 * workload fields once, not once per entry.
 */
export function foldArgs(entries: readonly FoldEntry[]): Array<string | number> {
  const slots = new Map<string, number>();
  const slotArgs: string[] = [];
  const slotOf = (suffix: string, field: string): number => {
    // Suffixes never hold a NUL: ids and task types are validated text.
    const name = `${suffix}\0${field}`;
    let slot = slots.get(name);
    if (slot === undefined) {
      slot = slots.size + 1;
      slots.set(name, slot);
      slotArgs.push(suffix, field);
    }
    return slot;
  };
  const entryArgs: Array<string | number> = [];
  for (const entry of entries) {
    if ("dead" in entry) {
      entryArgs.push(entry.id, "d", entry.dead);
      continue;
    }
    entryArgs.push(entry.id, entry.task !== undefined ? "t" : "a", entry.task ?? entry.agent, entry.at, entry.incr.length);
    for (const [suffix, field, delta] of entry.incr) entryArgs.push(slotOf(suffix, field), delta);
    entryArgs.push(entry.gauge.length);
    for (const [suffix, field, value, at] of entry.gauge) entryArgs.push(slotOf(suffix, field), value, at);
  }
  return [slots.size, ...slotArgs, ...entryArgs];
}
