import { AgentIdSchema, agentQueueName, keysFor, type Namespace, NamespaceSchema } from "@worksteal/protocol";

export const ACL_ROLES = ["coordinator", "agent", "reader"] as const;
export type AclRole = (typeof ACL_ROLES)[number];

/**
 * One Redis user: its name and the ACL rules that define it, each an argument of `ACL SETUSER`
 * (a selector, `(<rules>)`, is one argument holding spaces; Redis 7 also accepts it split).
 */
export interface AclUser {
  name: string;
  role: AclRole;
  /** The agent this user is, for the agent role. */
  agentId?: string;
  rules: string[];
}

/**
 * What every connection sends: HELLO and the ready check (INFO) of ioredis, connection names,
 * BullMQ's version check (INFO), QUIT on close. EVAL sends a script the first time on each
 * connection and EVALSHA runs it after (ioredis and BullMQ alike); TIME is the clock scripts and
 * processes agree on.
 * On a Redis Cluster, an ioredis Cluster also reads the slot map (CLUSTER SLOTS), checks the
 * cluster is up (CLUSTER INFO) and follows a slot half-moved (ASKING); a SCAN first asks which
 * slot the namespace is on (CLUSTER KEYSLOT). None of them touches a key.
 */
const CONNECTION_COMMANDS = [
  ...["hello", "client|setname", "info", "ping", "quit", "evalsha", "eval", "time"],
  ...["cluster|slots", "cluster|info", "cluster|keyslot", "asking"],
];

/**
 * The commands each role sends, its scripts' commands included: Redis checks each command a
 * script calls, and each key it touches, against the caller's rules. Found by running each role
 * against a private Redis under MONITOR, plus what BullMQ's worker scripts call on paths a short
 * run does not take (retries, stalled jobs, delays); tests/acl.test.ts runs the roles with no more.
 */
const COORDINATOR_COMMANDS = [
  ...["multi", "exec", "scan", "exists", "get", "set", "del", "incr", "pexpire", "pttl"],
  ...["hget", "hgetall", "hmget", "hmset", "hset", "hdel", "hexists", "hincrby", "hkeys", "hlen"],
  ...["smembers", "smismember", "sismember", "srandmember", "sscan", "scard", "sadd", "srem"],
  ...[
    "zadd",
    "zincrby",
    "zrem",
    "zcard",
    "zcount",
    "zscore",
    "zmscore",
    "zrange",
    "zrevrange",
    "zrangebyscore",
    "zrevrangebyscore",
    "zremrangebyrank",
    "zremrangebyscore",
    "zpopmin",
  ],
  ...["llen", "lindex", "lrange", "lpush", "rpush", "rpop", "lrem", "ltrim", "rpoplpush", "bzpopmin"],
  // No consumer group is read or written any more (the fold has a cursor): the legacy group and
  // any other is only looked at, by XINFO GROUPS (foldCursor, trim) and XPENDING (trim).
  ...["xadd", "xdel", "xlen", "xrange", "xrevrange", "xtrim", "xread", "xpending", "xinfo"],
];

/** An agent's BullMQ worker on its own queue, and worksteal's scripts on its own hash and sets. */
const AGENT_OWN_COMMANDS = [
  ...["exists", "get", "set", "del", "incr", "pexpire", "pttl"],
  ...["hget", "hgetall", "hmget", "hmset", "hset", "hdel", "hexists", "hincrby"],
  ...["smembers", "scard", "sadd", "srem"],
  ...["zadd", "zrem", "zcard", "zscore", "zrange", "zrevrange", "zrangebyscore", "zrevrangebyscore", "zremrangebyrank", "zremrangebyscore", "zpopmin"],
  ...["llen", "lrange", "lpush", "rpush", "lrem", "ltrim", "rpoplpush", "bzpopmin"],
  ...["xadd", "xtrim"],
];

/** What claim and finish do to a task record. */
const AGENT_TASK_COMMANDS = ["exists", "hget", "hmget", "hset", "hincrby", "pexpire"];

const READER_COMMANDS = [
  ...["multi", "exec", "scan", "exists", "get", "pttl"],
  ...["hget", "hgetall", "hmget", "smembers", "smismember", "srandmember", "scard"],
  ...["zcard", "zcount", "zrange", "zrevrange", "llen", "lindex", "lrange"],
  ...["xlen", "xrange", "xrevrange", "xread", "xinfo"],
];

/**
 * Rules start from nothing each time: `resetkeys resetchannels -@all clearselectors` drop what a
 * user had, so running the output again after an upgrade leaves exactly these rules. Passwords
 * are left as they are: a new user has none, and cannot log in until given one.
 */
const FROM_NOTHING = ["on", "resetkeys", "resetchannels", "-@all", "clearselectors"];

const allow = (commands: readonly string[]) => commands.map((c) => `+${c}`);
const keysMatching = (patterns: readonly string[], access = "") => patterns.map((p) => `${access}~${p}`);
/** A Redis 7 selector: its commands on its keys, and nothing else (a command passes when the root rules or one selector allow it with all its keys). */
const selector = (rules: readonly string[]) => `(${rules.join(" ")})`;

/** The user name of a role in a namespace: `ws-<ns>-coordinator`, `ws-<ns>-reader`, `ws-<ns>-agent-<id>`. */
export function aclUserName(namespace: Namespace, role: AclRole, agentId?: string): string {
  return role === "agent" ? `ws-${namespace}-agent-${agentId}` : `ws-${namespace}-${role}`;
}

/**
 * Rules after FROM_NOTHING. Namespace and agent ids are checked against their schemas, whose
 * alphabets hold no glob character (`*`, `?`, `[`, `\`), so they stand in patterns as they are.
 *
 * EVAL and EVALSHA need read and write access to every key a script declares, whatever the
 * script does with it. So the root rules allow only the connection commands and the scripts, on
 * every key a role's scripts are given; what a script may then do to each key is in selectors.
 */
function roleRules(namespace: Namespace, role: AclRole, agentId: string | undefined): string[] {
  const k = keysFor(namespace);
  const everyKey = `${k.prefix}*`;
  if (role === "coordinator") return [...allow(CONNECTION_COMMANDS), ...allow(COORDINATOR_COMMANDS), ...keysMatching([everyKey])];
  if (role === "reader") {
    // BullMQ's job counts are a script: read-only, as its commands are the reader's.
    return [...allow(CONNECTION_COMMANDS), ...keysMatching([everyKey]), selector([...allow(READER_COMMANDS), ...keysMatching([everyKey], "%R")])];
  }
  const id = AgentIdSchema.parse(agentId);
  // Its hash, its queued and running sets, and every key of its BullMQ queue.
  const own = [k.agent(id), `${k.agent(id)}:*`, `${k.bullPrefix}:${agentQueueName(id)}:*`];
  // Claim and finish are given the record of the task they run, and their batches (claimMany,
  // finishMany) make it from the events key; either way a pattern cannot say "the tasks this
  // agent owns", so this is every task record of the namespace.
  const tasks = k.task("*");
  return [
    ...allow(CONNECTION_COMMANDS),
    ...keysMatching([...own, tasks, k.events, k.agents, k.queuedCounts, k.runningCounts, k.loadsChanged, k.heartbeats, k.agentChanges]),
    selector([...allow(AGENT_OWN_COMMANDS), ...keysMatching(own)]),
    selector([...allow(AGENT_TASK_COMMANDS), ...keysMatching([tasks])]),
    // The counts its tasks' scripts keep as they move them (lua/includes/agentLoads.lua): the
    // fleet's load sorted sets (a pattern cannot limit a script to its own member: the reconciler
    // corrects any other change). Its workload hash is the coordinators' alone (folded).
    selector(["+zincrby", ...keysMatching([k.queuedCounts, k.runningCounts])]),
    // With each count it changes, its stamp in the fleet's loads:changed sorted set (written, never read).
    selector(["+zadd", ...keysMatching([k.loadsChanged], "%W")]),
    // Its liveness in the fleet's heartbeat sorted set (register, heartbeat), and the number of its
    // latest change in the agent-changes sorted set (register, markDrained: the last number read,
    // the next written). As with the load sets, a pattern cannot limit a script to its own member.
    selector(["+zadd", ...keysMatching([k.heartbeats], "%W")]),
    selector(["+zadd", "+zrevrange", ...keysMatching([k.agentChanges])]),
    // The event stream and the set of agent ids: appended to, never read, trimmed or deleted.
    selector(["+xadd", ...keysMatching([k.events], "%W")]),
    selector(["+sadd", ...keysMatching([k.agents], "%W")]),
  ];
}

/** The user of `role` (an agent's needs `agentId`) in `namespace`. */
export function aclUser(namespace: string, role: AclRole, agentId?: string): AclUser {
  const ns = NamespaceSchema.parse(namespace);
  return {
    name: aclUserName(ns, role, agentId),
    role,
    ...(role === "agent" ? { agentId } : {}),
    rules: [...FROM_NOTHING, ...roleRules(ns, role, agentId)],
  };
}

/** The coordinator and the reader of `namespace`, and one user per agent id. */
export function aclUsers(namespace: string, agentIds: readonly string[]): AclUser[] {
  return [aclUser(namespace, "coordinator"), aclUser(namespace, "reader"), ...agentIds.map((id) => aclUser(namespace, "agent", id))];
}

/** `ACL SETUSER <name> <rules…>`: a line `redis-cli` runs as it is (Redis joins a selector's space-separated parts again). */
export function formatSetUser(user: AclUser): string {
  return ["ACL", "SETUSER", user.name, ...user.rules].join(" ");
}

/** `user <name> <rules…>`: a line of an aclfile (ACL LOAD replaces every user, so the file needs the others too). */
export function formatAclFileLine(user: AclUser): string {
  return ["user", user.name, ...user.rules].join(" ");
}
