import { readStatus, type Status } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatAge } from "../format.js";
import { formatPairs } from "../table.js";
import { leaseSummary, replicaSummary } from "./leader.js";

/** The replicas the leader line counts: every id with a heartbeat or a reported role. */
function leaderReplicas(s: Status): Array<{ id: string; role: string | null }> {
  const ids = new Set([...s.replicas.map((r) => r.id), ...Object.keys(s.leader.roles)]);
  return [...ids].map((id) => ({ id, role: s.leader.roles[id] ?? null }));
}

export function statusLines(s: Status): string {
  const { fold } = s.events;
  const foldText =
    fold.cursor === null ? `not folded yet (lag ${fold.lag})` : `folded up to ${fold.cursor}, lag ${fold.lag}, folding: ${fold.folder ?? "no replica"}`;
  const replicas =
    s.replicas.length === 0 ? "none" : `${s.replicas.length}: ${s.replicas.map((r) => `${r.id} (${formatAge(r.lastHeartbeat, s.now)})`).join(", ")}`;
  const { tasks: t, agentCounts: a } = s;
  return formatPairs([
    ["namespace", s.namespace],
    ["agents", `${a.alive} alive, ${a.draining} draining, ${a.drained} drained, ${a.dead} dead (${a.total} registered)`],
    ["tasks", `${t.queued} queued, ${t.running} running, ${t.done} done, ${t.failed} failed, ${t.cancelled} cancelled`],
    ["unassigned", `${t.unassigned} waiting for a capable agent`],
    ["delayed", `${t.delayed} not yet due`],
    ["events", `${s.events.length} in stream; ${foldText}`],
    ["dead letter", `${s.events.deadLetter}`],
    ["replicas", replicas],
    ["leader", `${leaseSummary(s.leader.lease, s.leader.fence)}; ${replicaSummary(leaderReplicas(s), s.leader.lease)}`],
    ["steals", `${s.steals} recorded`],
  ]);
}

export async function runStatus(ctx: CommandContext): Promise<number> {
  const status = await readStatus(ctx.store, ctx.config.agentTtlMs);
  ctx.out(ctx.json ? JSON.stringify(status) : statusLines(status));
  return EXIT.ok;
}
