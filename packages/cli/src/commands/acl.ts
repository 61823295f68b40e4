import { ACL_ROLES, type AclRole, type AclUser, aclUser, formatAclFileLine, formatSetUser } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";

export const ACL_FORMATS = ["setuser", "aclfile"] as const;
export type AclFormat = (typeof ACL_FORMATS)[number];

/** What `acl` needs: it computes its output from the namespace alone and never connects to Redis. */
export type OfflineContext = Omit<CommandContext, "store">;

export interface AclArgs {
  roles: readonly AclRole[];
  agentIds: readonly string[];
  format: AclFormat;
}

/** The help's account of what the rules allow, and of what Redis ACLs cannot forbid. */
export const ACL_HELP = `
Prints one Redis 7 user per role of the namespace: ws-<ns>-coordinator, ws-<ns>-reader, and
ws-<ns>-agent-<id> for each --agent. Each line replaces the user's rules (resetkeys, -@all,
clearselectors) and leaves its passwords alone: give a new user one with
ACL SETUSER <user> >secret (or #<sha256>), then connect as redis://<user>:<secret>@host:port.

  coordinator  every key of the namespace (ws:{ns}:*) with the commands the replicas send; also
               what the client's submit and the CLI's operator commands (agent drain/undrain/
               remove, dlq replay/drop) need
  agent        (selectors) BullMQ's and its own commands on its own hash and sets
               (ws:{ns}:agent:<id>, ws:{ns}:agent:<id>:*) and its own queue (ws:{ns}:q:agent.<id>:*);
               claim's and finish's hash commands on task records (ws:{ns}:task:*); XADD only on
               the event stream, SADD only on the agent set. No other agent's queue, sets, hash or
               workload; no read, trim or delete of the event stream
  reader       read commands on read-only keys (%R~ws:{ns}:*): status, agents, tasks, queues, leader,
               steals, events tail, dlq list/show, watch (doctor's CONFIG GET is refused)

What Redis ACLs cannot forbid:
  - An agent claims and finishes with ws:{ns}:task:*: it can read and change the fields of any
    task's record, not only its own (a key pattern cannot say "the tasks this agent owns").
  - An agent appends to the event stream: it can append any event, about any agent or task (the
    coordinators check an event's fields, not who wrote it).
  - EVAL and EVALSHA are allowed or not as a whole, not per script, and need read and write access
    to every key a script is given: an agent or the reader may run any Lua on those keys. Redis
    checks each command a script calls against the same rules, so a script gains nothing a user
    lacks; the rules above are the limit, not the scripts.
  - SCAN (tasks) lists the key names of every namespace; only values are guarded.
Drawing those lines needs more than ACLs: a proxy or service that runs claim and finish for an
agent after checking who it is and that it owns the task, or an event stream per agent that only
the coordinators read. Selectors and %R~/%W~ (Redis 7.0) narrow a key to commands, reads or
writes, but cannot relate a key to the caller.
`;

/** The users the arguments ask for: the roles in `ACL_ROLES` order, an agent user per id. */
export function aclUsersFor(namespace: string, args: Pick<AclArgs, "roles" | "agentIds">): AclUser[] {
  return ACL_ROLES.filter((role) => args.roles.includes(role)).flatMap((role) =>
    role === "agent" ? args.agentIds.map((id) => aclUser(namespace, "agent", id)) : [aclUser(namespace, role)],
  );
}

export function runAcl(ctx: OfflineContext, args: AclArgs): Promise<number> {
  const users = aclUsersFor(ctx.config.namespace, args);
  if (ctx.json) ctx.out(JSON.stringify(users));
  else ctx.out(users.map(args.format === "aclfile" ? formatAclFileLine : formatSetUser).join("\n"));
  return Promise.resolve(EXIT.ok);
}
