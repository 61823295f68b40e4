import type { AgentView } from "@worksteal/protocol";
import { readAgentLoads, readLoadsChangedAfter, type Store } from "@worksteal/store";
import type { AgentDirectory } from "./agent-directory.js";

/** Events since the last read beyond which every load is read again rather than the changed agents'. */
const CHANGED_ENTRIES_MAX = 2000;

/**
 * The fleet as one leader round sees it: the directory brought up to date (O(changes)), with
 * every agent's exact queued and running counts from the fleet's load sorted sets (the task
 * scripts keep them exact, never lagging behind a fold), read only for the agents that the
 * events appended since the last read name (see AgentDirectory.fleet).
 */
export async function readFleet(store: Store, directory: AgentDirectory): Promise<AgentView[]> {
  await directory.refresh();
  // The counts after the directory's clock (directory.now): an event the leader's stream reader
  // skips as older than that clock is already in them.
  return directory.fleet({ all: () => readAgentLoads(store), changedSince: (eventId) => readLoadsChangedAfter(store, eventId, CHANGED_ENTRIES_MAX) });
}
