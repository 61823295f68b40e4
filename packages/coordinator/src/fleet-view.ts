import type { AgentView } from "@worksteal/protocol";
import { readAgentLoadsAt, readLoadsChangedSince, type Store } from "@worksteal/store";
import type { AgentDirectory } from "./agent-directory.js";

/** Agents changed since the last read beyond which every load is read again rather than theirs. */
const CHANGED_AGENTS_MAX = 2000;

/**
 * The fleet as one leader round sees it: the directory brought up to date (O(changes)), with
 * every agent's exact queued and running counts from the fleet's load sorted sets (the task
 * scripts keep them exact, never lagging behind a fold). After the first read, only the loads of
 * the agents whose counts changed since are read (see AgentDirectory.fleet).
 */
export async function readFleet(store: Store, directory: AgentDirectory): Promise<AgentView[]> {
  return (await readFleetThrough(store, directory)).agents;
}

/**
 * `readFleet`, and the newest event's id as of the refresh its counts were read after: taken
 * before they are read, since a refresh by maintenance while they are read sees later events,
 * which the counts need not reflect.
 */
export async function readFleetThrough(store: Store, directory: AgentDirectory): Promise<{ agents: AgentView[]; eventsReadThrough: string }> {
  await directory.refresh();
  const eventsReadThrough = directory.eventsReadThrough;
  const agents = await directory.fleet({
    all: () => readAgentLoadsAt(store),
    changedSince: (since) => readLoadsChangedSince(store, since, CHANGED_AGENTS_MAX),
  });
  return { agents, eventsReadThrough };
}
