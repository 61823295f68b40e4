export { main, processIo, type Io } from "./main.js";
export { parseInvocation, UsageError, type Invocation, type Printed } from "./program.js";
// The read models behind `status` and `leader --json` live in the store; kept here for the CLI's users.
export { readStatus, type Status, type FoldInfo, readLeader, type LeaderRead, type Lease, type ReplicaRole } from "@worksteal/store";
export { formatTable, formatPairs, type Column, type Cell } from "./table.js";
export { loadBar, barScale, BAR_LEGEND } from "./bars.js";
