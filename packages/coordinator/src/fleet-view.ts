import type { AgentView } from "@worksteal/protocol";
import { readAgentLoads, readLoadsChangedAfter, type Store } from "@worksteal/store";
import type { AgentDirectory } from "./agent-directory.js";

/** Events since the last read beyond which every load is read again rather than the changed agents'. */
const CHANGED_ENTRIES_MAX = 2000;

/**
 * Fleets up to this many agents have every load read whenever the stream grew: two ZRANGEs of
 * at most this many members cost the leader and Redis less than reading the events appended
 * since (three per task, some hundreds per triggered round under load) to find which changed.
 */
export const READ_EVERY_LOAD_UP_TO = 64;

/**
 * The fleet as one leader round sees it: the directory brought up to date (O(changes)), with
 * every agent's exact queued and running counts from the fleet's load sorted sets (the task
 * scripts keep them exact, never lagging behind a fold). Past `readEveryLoadUpTo` agents, only
 * the loads of the agents that the events appended since the last read name are read (see
 * AgentDirectory.fleet).
 */
export async function readFleet(store: Store, directory: AgentDirectory, readEveryLoadUpTo = READ_EVERY_LOAD_UP_TO): Promise<AgentView[]> {
  return (await readFleetThrough(store, directory, readEveryLoadUpTo)).agents;
}

/**
 * `readFleet`, and the newest event's id as of the refresh its counts were read after: taken
 * before they are read, since a refresh by maintenance while they are read sees later events,
 * which the counts need not reflect.
 */
export async function readFleetThrough(
  store: Store,
  directory: AgentDirectory,
  readEveryLoadUpTo = READ_EVERY_LOAD_UP_TO,
): Promise<{ agents: AgentView[]; eventsReadThrough: string }> {
  await directory.refresh();
  const eventsReadThrough = directory.eventsReadThrough;
  const small = directory.size <= readEveryLoadUpTo;
  // The counts after the directory's clock (directory.now): an event the leader's stream reader
  // skips as older than that clock is already in them.
  const agents = await directory.fleet({
    all: () => readAgentLoads(store),
    changedSince: (eventId) => (small ? Promise.resolve(undefined) : readLoadsChangedAfter(store, eventId, CHANGED_ENTRIES_MAX)),
  });
  return { agents, eventsReadThrough };
}
