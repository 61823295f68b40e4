import { type Lease, type LeaderRead, type ReplicaRole, readLeader } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatAge, formatDuration, formatTime } from "../format.js";
import { formatPairs, formatTable } from "../table.js";

/** The fence a `leader:<fence>` role names; undefined for any other role. */
export function roleFence(role: string | null): number | undefined {
  const match = role === null ? null : /^leader:(\d+)$/.exec(role);
  return match ? Number(match[1]) : undefined;
}

/**
 * A replica's role as people read it, flagged where its own view disagrees with the lease:
 * a replica that still thinks it leads (an old fence, or a lease that is gone or another's), or
 * the holder that has not yet said so. Either is normal for a moment around a failover.
 */
export function describeRole(replica: ReplicaRole, lease: Lease | null): string {
  const role = replica.role ?? "(none reported)";
  if (roleFence(replica.role) !== undefined) return leadsPerLease(replica, lease) ? role : `${role} (stale: does not hold the lease)`;
  return lease !== null && lease.holder === replica.id ? `${role} (holds the lease)` : role;
}

/** True when a replica's self-reported role names the leadership the lease records. */
function leadsPerLease(replica: Pick<ReplicaRole, "id" | "role">, lease: Lease | null): boolean {
  const fence = roleFence(replica.role);
  return fence !== undefined && lease !== null && lease.holder === replica.id && lease.fence === fence;
}

/**
 * `3 replicas (1 leader, 1 follower, 1 stale leader)`, counted from the roles they report; a
 * leader role the lease does not back counts as stale, a missing role as unreported.
 */
export function replicaSummary(replicas: ReadonlyArray<Pick<ReplicaRole, "id" | "role">>, lease: Lease | null): string {
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  let leaders = 0;
  let stale = 0;
  let followers = 0;
  let other = 0;
  for (const r of replicas) {
    if (leadsPerLease(r, lease)) leaders += 1;
    else if (roleFence(r.role) !== undefined) stale += 1;
    else if (r.role === "follower") followers += 1;
    else other += 1;
  }
  const total = plural(replicas.length, "replica", "replicas");
  if (replicas.length === 0) return total;
  const parts = [plural(leaders, "leader", "leaders"), plural(followers, "follower", "followers")];
  if (stale > 0) parts.push(plural(stale, "stale leader", "stale leaders"));
  if (other > 0) parts.push(`${other} without a role`);
  return `${total} (${parts.join(", ")})`;
}

const remainingText = (lease: Lease) => (lease.remainingMs === null ? "no expiry" : `${formatDuration(lease.remainingMs)} left`);

/** One line: `r-1 (fence 7, 3.2s left)` or `none (fence 7)`. */
export function leaseSummary(lease: Lease | null, fence: number): string {
  if (lease === null) return `none (fence ${fence})`;
  return `${lease.holder || "?"} (fence ${lease.fence ?? "?"}, ${remainingText(lease)})`;
}

export function leaderLines(read: LeaderRead, namespace: string): string {
  const { lease, now } = read;
  const latest = read.fence > 0 ? String(read.fence) : "0 (none issued yet)";
  const head = lease
    ? formatPairs([
        ["holder", lease.holder || "?"],
        ["fence", `${lease.fence ?? "?"} (latest issued: ${latest})`],
        ["lease", remainingText(lease)],
        ["acquired", lease.acquiredAt === null ? "-" : `${formatTime(lease.acquiredAt)} (${formatAge(lease.acquiredAt, now)})`],
      ])
    : `no leader: no replica holds the lease in namespace ${namespace}\n${formatPairs([["latest fence", latest]])}`;
  const replicas =
    read.replicas.length === 0
      ? "no replicas seen"
      : formatTable(
          ["REPLICA", "ROLE", "HEARTBEAT"],
          read.replicas.map((r) => [r.id, describeRole(r, lease), formatAge(r.lastHeartbeat ?? 0, now)]),
        );
  return `${head}\n\n${replicas}`;
}

export async function runLeader(ctx: CommandContext): Promise<number> {
  const read = await readLeader(ctx.store);
  ctx.out(ctx.json ? JSON.stringify(read) : leaderLines(read, ctx.store.namespace));
  return EXIT.ok;
}
