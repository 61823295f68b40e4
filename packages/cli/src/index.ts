export { main, processIo, type Io } from "./main.js";
export { parseInvocation, UsageError, type Command, type Invocation } from "./options.js";
export { readStatus, type Status, type GroupInfo } from "./commands/status.js";
export { readLeader, type LeaderRead, type Lease, type ReplicaRole } from "./commands/leader.js";
export { formatTable, formatPairs, type Column, type Cell } from "./table.js";
