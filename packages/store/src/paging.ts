/**
 * Agents read per round trip. A fleet's worth in one pipeline keeps every command and reply alive
 * until the last reply arrives: at 10,000 agents, tens of MB that outlived the young generation
 * at each read, which the old generation then held as garbage (the coordinator reads every agent
 * at each /metrics scrape).
 */
export const AGENTS_PER_READ = 500;

/** `visit` each page of AGENTS_PER_READ of `ids` in turn, one after the other. */
export async function forEachPage(ids: readonly string[], visit: (page: readonly string[]) => Promise<void>): Promise<void> {
  for (let start = 0; start < ids.length; start += AGENTS_PER_READ) await visit(ids.slice(start, start + AGENTS_PER_READ));
}

/** `read` over `ids` a page of AGENTS_PER_READ at a time, the answers in `ids`' order. */
export async function inPages<T>(ids: readonly string[], read: (page: readonly string[]) => Promise<T[]>): Promise<T[]> {
  const all: T[] = [];
  await forEachPage(ids, async (page) => {
    all.push(...(await read(page)));
  });
  return all;
}
