import { readFileSync } from "node:fs";
import { AgentIdSchema, EVENT_KINDS, TASK_STATES, TaskIdSchema, TaskTypeSchema } from "@worksteal/protocol";
import { Command, CommanderError } from "commander";
import { ACL_ROLES } from "@worksteal/store";
import { z } from "zod";
import { ACL_FORMATS, ACL_HELP, type OfflineContext, runAcl } from "./commands/acl.js";
import { runAgents } from "./commands/agents.js";
import { DEFAULT_DLQ_LIMIT, runDlqDrop, runDlqList, runDlqReplay, runDlqShow } from "./commands/dlq.js";
import { DEFAULT_DOCTOR_OPTIONS, runDoctor } from "./commands/doctor.js";
import { DEFAULT_DRAIN_TIMEOUT_S, runDrain } from "./commands/drain.js";
import { DEFAULT_TAIL_LIMIT, runEventsTail } from "./commands/events.js";
import { runLeader } from "./commands/leader.js";
import { runQueues } from "./commands/queues.js";
import { runRemove } from "./commands/remove.js";
import { runStatus } from "./commands/status.js";
import { DEFAULT_STEAL_LIMIT, runSteals } from "./commands/steals.js";
import { runCancel, runTask } from "./commands/task.js";
import { DEFAULT_TASKS_LIMIT, runTasks } from "./commands/tasks.js";
import { runUndrain } from "./commands/undrain.js";
import { DEFAULT_WATCH_INTERVAL_S, runWatch } from "./commands/watch.js";
import { COMMAND_TIMEOUT_MS, CONNECT_TIMEOUT_MS } from "./connect.js";
import { CursorSchema, NamespaceSchema, RedisUrlSchema, StreamIdSchema, UsageError, check, countSchema, secondsSchema } from "./args.js";
import type { CommandContext, Io } from "./context.js";

export { UsageError } from "./args.js";

/** A command line, parsed and checked: what to run, and the global options as given. */
export interface Invocation {
  /** The command's words: `status`, `agent drain`, `dlq replay`. */
  command: string;
  /** Its arguments and options, validated. */
  args: Record<string, unknown>;
  run: (ctx: CommandContext) => Promise<number>;
  /** Set for a command that needs no Redis (acl): it is run with this instead of `run`, without connecting. */
  runOffline?: (ctx: OfflineContext) => Promise<number>;
  json: boolean;
  /** Only what the command line said; the environment and defaults are applied later. */
  redis: string | undefined;
  namespace: string | undefined;
}

/** Help or the version was printed: nothing to run, exit with `code`. */
export interface Printed {
  printed: true;
  code: number;
}

const VERSION = z.object({ version: z.string() }).parse(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))).version;

const AFTER_HELP = `
Global options (--redis, --namespace, --json) go before or after the command.
--redis defaults to $REDIS_URL, else $WORKSTEAL_REDIS_URL, else redis://127.0.0.1:6379;
--namespace to $WORKSTEAL_NAMESPACE, else "default". Other WORKSTEAL_* settings (e.g.
WORKSTEAL_AGENT_TTL_MS, which decides when an agent counts as dead) and the $WORKSTEAL_CONFIG
file are read as by the coordinator. \`worksteal <command> --help\` describes one command.

Examples:
  worksteal agent drain <id> --wait --timeout 120   hand an agent's queue over, wait until drained
  worksteal steals --limit 50                        the last 50 steal operations
  worksteal tasks --state running --agent a1         what a1 runs now
  worksteal events tail --follow --kind task:stolen  each steal's moves as they happen
  worksteal dlq list --json                          dead letters, for a program

Exit status: 0 ok; 1 not found or failed (drain --wait timed out, doctor found a problem);
2 bad arguments, or Redis unreachable or not answering (${CONNECT_TIMEOUT_MS / 1000} s to connect, ${COMMAND_TIMEOUT_MS / 1000} s per command).
`;

const LimitOption = (max: number) => countSchema(max);
/** Frames more often than 10 a second would only load Redis. */
const IntervalSchema = secondsSchema(0, 3600).pipe(z.number().min(0.1, "must be at least 0.1"));
const RolesSchema = z
  .string()
  .transform((s) => s.split(",").filter((r) => r !== ""))
  .pipe(z.array(z.enum(ACL_ROLES, { error: `expected roles among ${ACL_ROLES.join(", ")}` })).min(1, "names no role"));
const KindsSchema = z
  .string()
  .transform((s) => s.split(",").filter((k) => k !== ""))
  .pipe(z.array(z.enum(EVENT_KINDS as [string, ...string[]], { error: `expected event kinds among ${EVENT_KINDS.join(", ")}` })).min(1, "names no kind"));

/** Builds the command tree; each action checks its arguments and calls `select` with what to run. */
function buildProgram(
  io: Io,
  select: (command: string, args: Record<string, unknown>, run: Invocation["run"], runOffline?: Invocation["runOffline"]) => void,
): Command {
  const program = new Command("worksteal")
    .usage("<command> [options]")
    .description("Inspects and operates a worksteal namespace: agents, tasks, queues, events, dead letters, the leader.")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => undefined })
    .configureHelp({ showGlobalOptions: true, helpWidth: 100 })
    .showSuggestionAfterError()
    .version(VERSION, "-V, --version", "the version")
    .helpOption("-h, --help", "this help")
    .helpCommand("help [command]", "help for a command")
    .option("--redis <url>", "Redis URL")
    .option("-n, --namespace <ns>", "namespace")
    .option("--json", "print JSON for programs instead of text for people")
    .addHelpText("after", AFTER_HELP);

  program
    .command("status")
    .description("one-screen summary: agents, task totals, event stream, fold lag, dead letters, replicas, leader, steals")
    .action(() => select("status", {}, runStatus));
  program
    .command("agents")
    .description("every registered agent with its slots, load and heartbeat")
    .action(() => select("agents", {}, runAgents));
  program
    .command("leader")
    .description('the leader lease (holder, fence, time left) and each replica\'s heartbeat and role; "no leader" when none')
    .action(() => select("leader", {}, runLeader));
  program
    .command("task")
    .argument("<id>", "task id")
    .argument("[cancelId]", "with `task cancel <id>`: the task to cancel")
    .usage("<id> | cancel <id>")
    .description(
      "one task's record (attempt, last error, next run, progress), or `task cancel <id>`: cancels it " +
        "(a queued one at once; a running one ends cancelled when its handler returns; exit 1 for an unknown task)",
    )
    .action((first: string, second: string | undefined) => {
      if (second !== undefined) {
        if (first !== "cancel") throw new UsageError(`unknown task action '${first}': expected task <id> or task cancel <id>`);
        const taskId = check(TaskIdSchema, second, "task id");
        select("task cancel", { taskId }, (ctx) => runCancel(ctx, taskId));
        return;
      }
      const taskId = check(TaskIdSchema, first, "task id");
      select("task", { taskId }, (ctx) => runTask(ctx, taskId));
    });
  program
    .command("tasks")
    .description("task records by state, agent and type, a page at a time (a bounded SCAN, in no particular order)")
    .option("--state <state>", `one of ${TASK_STATES.join(", ")}`)
    .option("--agent <id>", 'owner agent ("" for the unassigned)')
    .option("--type <type>", "task type")
    .option("--limit <n>", `rows per page (default ${DEFAULT_TASKS_LIMIT}; a page ends with a SCAN batch, so it may hold a few more)`)
    .option("--cursor <c>", "continue from the cursor the previous page printed")
    .action((o: { state?: string; agent?: string; type?: string; limit?: string; cursor?: string }) => {
      const args = {
        filter: {
          ...(o.state === undefined ? {} : { state: check(z.enum(TASK_STATES), o.state, "--state") }),
          ...(o.agent === undefined ? {} : { agent: o.agent === "" ? "" : check(AgentIdSchema, o.agent, "--agent") }),
          ...(o.type === undefined ? {} : { type: check(TaskTypeSchema, o.type, "--type") }),
        },
        limit: o.limit === undefined ? DEFAULT_TASKS_LIMIT : check(LimitOption(1000), o.limit, "--limit"),
        cursor: o.cursor === undefined ? "0" : check(CursorSchema, o.cursor, "--cursor"),
      };
      select("tasks", args, (ctx) => runTasks(ctx, args.filter, args.limit, args.cursor));
    });
  program
    .command("steals")
    .description("recent steal operations, newest first")
    .option("--limit <n>", `how many (default ${DEFAULT_STEAL_LIMIT})`)
    .action((o: { limit?: string }) => {
      const limit = o.limit === undefined ? DEFAULT_STEAL_LIMIT : check(LimitOption(10_000), o.limit, "--limit");
      select("steals", { limit }, (ctx) => runSteals(ctx, limit));
    });
  program
    .command("queues")
    .description("each agent's BullMQ queue: waiting, active, delayed, failed, completed jobs")
    .action(() => select("queues", {}, runQueues));

  const events = program.command("events").description("the event stream");
  events
    .command("tail")
    .description("the latest events, oldest first; with --follow, then each new one until Ctrl-C. --json: one object per line, {id, event} or {id, invalid}")
    .option("--limit <n>", `how many to show first (default ${DEFAULT_TAIL_LIMIT})`)
    .option("--kind <kinds>", "only these kinds, comma-separated (e.g. task:stolen,agent:draining)")
    .option("-f, --follow", "keep printing new events (XREAD BLOCK) until Ctrl-C")
    .action((o: { limit?: string; kind?: string; follow?: boolean }) => {
      const args = {
        limit: o.limit === undefined ? DEFAULT_TAIL_LIMIT : check(LimitOption(10_000), o.limit, "--limit"),
        kinds: o.kind === undefined ? undefined : check(KindsSchema, o.kind, "--kind"),
        follow: o.follow === true,
      };
      select("events tail", args, (ctx) => runEventsTail(ctx, args));
    });
  requireAction(events, ["tail"]);

  const dlq = program.command("dlq").description("the dead-letter stream: events the coordinators refused, with why");
  dlq
    .command("list")
    .description("dead letters, newest first")
    .option("--limit <n>", `how many (default ${DEFAULT_DLQ_LIMIT})`)
    .option("--before <id>", "older than this dead letter (for the next page)")
    .action((o: { limit?: string; before?: string }) => {
      const args = {
        limit: o.limit === undefined ? DEFAULT_DLQ_LIMIT : check(LimitOption(10_000), o.limit, "--limit"),
        before: o.before === undefined ? undefined : check(StreamIdSchema, o.before, "--before"),
      };
      select("dlq list", args, (ctx) => runDlqList(ctx, args.limit, args.before));
    });
  for (const [name, description, run] of [
    ["show", "one dead letter with the entry it copied", runDlqShow],
    ["replay", "appends the entry to the event stream again if it now parses (else says why), and drops the dead letter", runDlqReplay],
    ["drop", "deletes a dead letter", runDlqDrop],
  ] as const) {
    dlq
      .command(name)
      .argument("<id>", "dead letter id (as dlq list prints it)")
      .description(description)
      .action((id: string) => {
        const letterId = check(StreamIdSchema, id, "dead letter id");
        select(`dlq ${name}`, { id: letterId }, (ctx) => run(ctx, letterId));
      });
  }
  requireAction(dlq, ["list", "show", "replay", "drop"]);

  const agent = program.command("agent").description("ask an agent to drain, take it back, or forget a dead one");
  agent
    .command("drain")
    .argument("<id>", "agent id")
    .description(
      "asks the agent to drain: it takes no new task, the leader hands its queue to others, and once it holds none it is drained. " +
        "Idempotent. --wait polls until drained, reporting progress on stderr each second (exit 1 after the timeout)",
    )
    .option("--wait", "wait until it is drained")
    .option("--timeout <s>", `with --wait: give up after this many seconds (default ${DEFAULT_DRAIN_TIMEOUT_S})`)
    .action((id: string, o: { wait?: boolean; timeout?: string }) => {
      const agentId = check(AgentIdSchema, id, "agent id");
      if (o.timeout !== undefined && o.wait !== true) throw new UsageError("--timeout applies only to agent drain --wait");
      const timeoutS = o.timeout === undefined ? DEFAULT_DRAIN_TIMEOUT_S : check(secondsSchema(0, 86_400), o.timeout, "--timeout");
      const wait = o.wait === true ? { timeoutMs: Math.ceil(timeoutS * 1000) } : undefined;
      select("agent drain", { agentId, wait }, (ctx) => runDrain(ctx, agentId, wait));
    });
  agent
    .command("undrain")
    .argument("<id>", "agent id")
    .description("takes a draining or drained agent back: it may be given tasks again (exit 1 for an unknown agent)")
    .action((id: string) => {
      const agentId = check(AgentIdSchema, id, "agent id");
      select("agent undrain", { agentId }, (ctx) => runUndrain(ctx, agentId));
    });
  agent
    .command("remove")
    .argument("<id>", "agent id")
    .description("forgets a dead agent that holds no task: its records and queue. Refuses (exit 1) one alive or holding tasks")
    .action((id: string) => {
      const agentId = check(AgentIdSchema, id, "agent id");
      select("agent remove", { agentId }, (ctx) => runRemove(ctx, agentId));
    });
  requireAction(agent, ["drain", "undrain", "remove"]);

  program
    .command("doctor")
    .description(
      "checks Redis (version, maxmemory-policy, persistence, maxclients) and the fleet (replicas, clocks, fold lag, stuck tasks, " +
        "unknown agents holding tasks); prints what to fix; exit 1 when something is wrong",
    )
    .option("--stuck-after <s>", "a running task without a job lock this long is stuck (default: twice lockDurationMs)")
    .action((o: { stuckAfter?: string }) => {
      const stuckAfterMs = o.stuckAfter === undefined ? undefined : Math.ceil(check(secondsSchema(0, 86_400), o.stuckAfter, "--stuck-after") * 1000);
      const options = { ...DEFAULT_DOCTOR_OPTIONS, stuckAfterMs };
      select("doctor", options, (ctx) => runDoctor(ctx, options));
    });
  program
    .command("watch")
    .description("a live view redrawn in place: per-agent bars, leader, steal rate (q or Ctrl-C quits; not a terminal: one frame)")
    .option("--interval <s>", `seconds between frames (default ${DEFAULT_WATCH_INTERVAL_S})`)
    .action((o: { interval?: string }) => {
      const intervalMs = Math.ceil((o.interval === undefined ? DEFAULT_WATCH_INTERVAL_S : check(IntervalSchema, o.interval, "--interval")) * 1000);
      select("watch", { intervalMs }, (ctx) => runWatch(ctx, intervalMs));
    });
  program
    .command("acl")
    .description("Redis ACL rules (ACL SETUSER lines) for the namespace's coordinator, reader and agents; connects to nothing")
    .option("--role <roles>", `only these roles, comma-separated (default: ${ACL_ROLES.join(",")})`)
    .option("--agent <id>", "an agent user for this agent id (repeat for each agent)", (id: string, ids: string[] | undefined) => [...(ids ?? []), id])
    .option("--format <format>", `${ACL_FORMATS.join(" or ")}: ACL SETUSER lines (default), or the lines of an aclfile`)
    .addHelpText("after", ACL_HELP)
    .action((o: { role?: string; agent?: string[]; format?: string }) => {
      const args = {
        roles: o.role === undefined ? ACL_ROLES : check(RolesSchema, o.role, "--role"),
        agentIds: (o.agent ?? []).map((id) => check(AgentIdSchema, id, "--agent")),
        format: o.format === undefined ? ("setuser" as const) : check(z.enum(ACL_FORMATS), o.format, "--format"),
      };
      if (o.role !== undefined && args.roles.includes("agent") && args.agentIds.length === 0) throw new UsageError("--role agent needs --agent <id>");
      const run = (ctx: OfflineContext) => runAcl(ctx, args);
      select("acl", args, run, run);
    });
  return program;
}

/** `agent` alone or `agent kill`: one line naming the actions, not the group's help. */
function requireAction(group: Command, actions: readonly string[]): void {
  group
    .argument("[action]")
    .allowExcessArguments()
    .action((action: string | undefined) => {
      const name = group.name();
      if (action === undefined) throw new UsageError(`${name} needs an action (${actions.join(", ")}; see worksteal ${name} --help)`);
      throw new UsageError(`unknown ${name} action '${action}' (actions: ${actions.join(", ")})`);
    });
}

/** commander's message as one line: `error: ` dropped, its suggestion on the same line. */
function oneLine(error: CommanderError): string {
  const text = error.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ");
  return error.code === "commander.unknownCommand" || error.code === "commander.unknownOption" ? `${text} (see worksteal --help)` : text;
}

/**
 * Parses argv (without node and script). Help and the version are written to `io.stdout`;
 * a bad command line throws UsageError with a one-line message.
 */
export function parseInvocation(argv: readonly string[], io: Io): Invocation | Printed {
  let selected: Pick<Invocation, "command" | "args" | "run" | "runOffline"> | undefined;
  const program = buildProgram(io, (command, args, run, runOffline) => {
    selected = { command, args, run, ...(runOffline === undefined ? {} : { runOffline }) };
  });
  try {
    program.parse(argv, { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.exitCode === 0) return { printed: true, code: 0 };
    throw new UsageError(oneLine(error));
  }
  if (selected === undefined) throw new UsageError("no command (see worksteal --help)");
  const globals = program.opts<{ redis?: string; namespace?: string; json?: boolean }>();
  return {
    ...selected,
    json: globals.json === true,
    redis: globals.redis === undefined ? undefined : check(RedisUrlSchema, globals.redis, "--redis"),
    namespace: globals.namespace === undefined ? undefined : check(NamespaceSchema, globals.namespace, "--namespace"),
  };
}

/** The whole help text, as `worksteal --help` prints it. */
export function helpText(): string {
  let text = "";
  buildProgram({ stdout: (s) => void (text += s), stderr: () => undefined }, () => undefined).outputHelp();
  return text;
}
