import { findStuckTasks, findUnknownHolders, listDeadLetters, readServerFacts, readStatus, type ServerFacts, type Status } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatDuration } from "../format.js";
import { formatTable } from "../table.js";

/** Connections each process holds: an agent its command and worker connections and BullMQ's blocking one; a replica also its fold and executor ones. */
export const AGENT_CONNECTIONS = 3;
export const REPLICA_CONNECTIONS = 4;
/** Event-stream entries appended and not yet folded (the fold lag), past which folding is falling behind. */
const LAG_WARN = 10_000;
/** Running tasks looked at for stuck ones, dead letters read for clock refusals, SCAN calls for unknown holders. */
const STUCK_SAMPLE = 1000;
const DEAD_LETTERS_READ = 1000;
const HOLDER_SCANS = 200;
/** How far this machine's clock may be from Redis's before it is mentioned. */
const LOCAL_SKEW_WARN_MS = 1000;

export interface DoctorOptions {
  /** A running task with no job lock this long is stuck; default twice lockDurationMs. */
  stuckAfterMs: number | undefined;
}

export const DEFAULT_DOCTOR_OPTIONS: DoctorOptions = { stuckAfterMs: undefined };

export type Verdict = "ok" | "warn" | "fail";

export interface Finding {
  check: string;
  verdict: Verdict;
  /** What was found. */
  detail: string;
  /** What to do about it; absent when all is well. */
  fix?: string;
}

const ok = (check: string, detail: string): Finding => ({ check, verdict: "ok", detail });
const bad = (verdict: "warn" | "fail", check: string, detail: string, fix: string): Finding => ({ check, verdict, detail, fix });

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split(".").map(Number);
  return a > major || (a === major && b >= minor);
}

export function serverFindings(s: ServerFacts, fleet: { agents: number; replicas: number }): Finding[] {
  const findings: Finding[] = [];
  if (!versionAtLeast(s.version, 7, 0))
    findings.push(bad("fail", "redis version", s.version, "upgrade to Redis 7 or later: the fold counts its lag with XINFO STREAM's entries-added (7.0)"));
  else findings.push(ok("redis version", s.version));

  if (s.maxmemoryPolicy === null)
    findings.push(bad("warn", "maxmemory-policy", "unknown (CONFIG GET refused)", "make sure the server runs with maxmemory-policy noeviction"));
  else if (s.maxmemoryPolicy !== "noeviction") {
    findings.push(
      bad(
        "fail",
        "maxmemory-policy",
        s.maxmemoryPolicy,
        "set maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf): under memory pressure Redis would evict task records, locks and stream entries",
      ),
    );
  } else findings.push(ok("maxmemory-policy", "noeviction"));

  const rdb = s.rdbSave !== null && s.rdbSave.trim() !== "";
  if (s.aofEnabled) findings.push(ok("persistence", `AOF on${rdb ? ", RDB snapshots too" : ""}`));
  else if (rdb)
    findings.push(
      bad("warn", "persistence", `RDB snapshots only (save ${s.rdbSave})`, "turn on appendonly yes: a restart loses every write since the last snapshot"),
    );
  else if (s.rdbSave === null) findings.push(bad("warn", "persistence", "AOF off; RDB unknown (CONFIG GET refused)", "turn on appendonly yes"));
  else findings.push(bad("fail", "persistence", "none (AOF off, no RDB snapshots)", "turn on appendonly yes: a restart of Redis loses every task"));

  const needed = fleet.agents * AGENT_CONNECTIONS + fleet.replicas * REPLICA_CONNECTIONS;
  const detail = `maxclients ${s.maxclients ?? "unknown"}, ${s.connectedClients} connected; ${fleet.agents} agents and ${fleet.replicas} replicas hold about ${needed}`;
  if (s.maxclients === null) findings.push(bad("warn", "maxclients", detail, "check maxclients against the fleet (CONFIG GET refused)"));
  else if (s.maxclients < needed || s.connectedClients >= s.maxclients * 0.9) {
    findings.push(bad("fail", "maxclients", detail, `raise maxclients (and the open-file limit) to at least ${Math.max(2 * needed, s.connectedClients * 2)}`));
  } else if (s.maxclients < 2 * needed)
    findings.push(bad("warn", "maxclients", detail, `raise maxclients to at least ${2 * needed}: the fleet has little room to grow`));
  else findings.push(ok("maxclients", detail));
  return findings;
}

export function fleetFindings(status: Status, agentTtlMs: number): Finding[] {
  const findings: Finding[] = [];
  const stale = status.replicas.filter((r) => r.ageMs > agentTtlMs);
  if (status.replicas.length === 0)
    findings.push(bad("fail", "replicas", "no coordinator replica has a heartbeat", "start a coordinator: nothing folds events or plans steals"));
  else if (stale.length > 0) {
    const names = stale.map((r) => `${r.id} (${formatDuration(r.ageMs)})`).join(", ");
    findings.push(
      bad(
        "warn",
        "replicas",
        `${status.replicas.length} with a heartbeat; silent past ${agentTtlMs}ms: ${names}`,
        "restart the silent replicas, or let them be pruned",
      ),
    );
  } else findings.push(ok("replicas", `${status.replicas.length} with a recent heartbeat`));

  const lease = status.leader.lease;
  if (lease === null)
    findings.push(
      bad(
        "fail",
        "leader",
        `no replica holds the lease (fence ${status.leader.fence})`,
        "start a coordinator, or look at the replicas' logs: none could take the lease",
      ),
    );
  else findings.push(ok("leader", `${lease.holder} at fence ${lease.fence ?? "?"}`));

  const { fold, length } = status.events;
  if (fold.cursor === null) {
    if (length > 0)
      findings.push(bad("fail", "fold", `the stream holds ${length} entries and nothing folds it`, "start a coordinator: it makes the fold cursor"));
    else findings.push(ok("fold", "no events yet"));
  } else if (fold.lag > LAG_WARN) {
    findings.push(
      bad("warn", "fold", `lag ${fold.lag}, folding: ${fold.folder ?? "no replica"}`, "folding falls behind: look at the folding replica's log and CPU"),
    );
  } else findings.push(ok("fold", `lag ${fold.lag}, folding: ${fold.folder ?? "no replica"}`));
  return findings;
}

/**
 * Replica heartbeats carry the Redis clock (TIME), never a replica's own: the lease and the
 * ages do not depend on replica clocks. What does are event times, which an agent or client
 * stamps and the fold checks against the Redis clock; refusals for that are in the dead letters.
 */
async function clockFindings(ctx: CommandContext, redisNow: number, localAtRead: number): Promise<Finding[]> {
  const letters = await listDeadLetters(ctx.store, DEAD_LETTERS_READ);
  const skewed = letters.filter((l) => /ms (ahead of|behind) the Redis clock/.test(l.reason));
  const findings: Finding[] = [];
  const local = localAtRead - redisNow;
  const localDetail = `this machine is ${formatDuration(Math.abs(local))} ${local >= 0 ? "ahead of" : "behind"} Redis`;
  if (skewed.length > 0) {
    findings.push(
      bad(
        "fail",
        "clocks",
        `${skewed.length} of the last ${letters.length} dead letters were refused for their time (${skewed[0]!.reason}); ${localDetail}`,
        "sync the clocks (NTP) of the machines running agents and clients",
      ),
    );
  } else if (Math.abs(local) > LOCAL_SKEW_WARN_MS) findings.push(bad("warn", "clocks", localDetail, "sync this machine's clock (NTP)"));
  else findings.push(ok("clocks", `no event refused for its time; replica heartbeats use the Redis clock; ${localDetail}`));
  return findings;
}

async function taskFindings(ctx: CommandContext, status: Status, stuckAfterMs: number): Promise<Finding[]> {
  const findings: Finding[] = [];
  const stuck = await findStuckTasks(
    ctx.store,
    status.agents.map((a) => a.id),
    stuckAfterMs,
    STUCK_SAMPLE,
  );
  if (stuck.length > 0) {
    const named = stuck
      .slice(0, 5)
      .map((t) => `${t.taskId} on ${t.agentId} (${formatDuration(t.idleMs)})`)
      .join(", ");
    findings.push(
      bad(
        "fail",
        "stuck tasks",
        `${stuck.length} running with no job lock past ${formatDuration(stuckAfterMs)}: ${named}`,
        "check that a leader runs (it moves a dead agent's tasks), and the agents' logs; `worksteal task <id>` shows one",
      ),
    );
  } else findings.push(ok("stuck tasks", `none running without a job lock past ${formatDuration(stuckAfterMs)}`));

  const holders = await findUnknownHolders(ctx.store, HOLDER_SCANS);
  if (holders.length > 0) {
    findings.push(
      bad(
        "fail",
        "unknown agents",
        `not registered, yet holding tasks: ${holders.map((h) => `${h.agentId} (${h.tasks})`).join(", ")}`,
        "let the leader's reconciler run, or look for keys written by hand",
      ),
    );
  } else findings.push(ok("unknown agents", "every agent holding tasks is registered"));
  return findings;
}

export async function runDoctor(ctx: CommandContext, options: DoctorOptions): Promise<number> {
  const before = Date.now();
  const server = await readServerFacts(ctx.store);
  const localAtRead = (before + Date.now()) / 2;
  const status = await readStatus(ctx.store, ctx.config.agentTtlMs);
  const stuckAfterMs = options.stuckAfterMs ?? 2 * ctx.config.lockDurationMs;
  const findings = [
    ...serverFindings(server, { agents: status.agents.filter((a) => a.status !== "dead").length, replicas: status.replicas.length }),
    ...fleetFindings(status, ctx.config.agentTtlMs),
    ...(await clockFindings(ctx, server.now, localAtRead)),
    ...(await taskFindings(ctx, status, stuckAfterMs)),
  ];
  const healthy = findings.every((f) => f.verdict !== "fail");
  if (ctx.json) ctx.out(JSON.stringify({ namespace: ctx.store.namespace, healthy, findings }));
  else {
    ctx.out(
      formatTable(
        ["CHECK", "", "FOUND"],
        findings.map((f) => [f.check, f.verdict.toUpperCase(), f.detail]),
      ),
    );
    const fixes = findings.filter((f) => f.fix !== undefined);
    if (fixes.length > 0) ctx.out(`\nTo fix:\n${fixes.map((f) => `  - ${f.check}: ${f.fix}`).join("\n")}`);
  }
  return healthy ? EXIT.ok : EXIT.failure;
}
