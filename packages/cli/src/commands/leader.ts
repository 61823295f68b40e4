import type { Store } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatAge, formatDuration, formatTime } from "../format.js";
import { formatPairs, formatTable } from "../table.js";

/** The leader lease as Redis holds it (`keys.leader`); fields a hand-edited hash lacks are null. */
export interface Lease {
  holder: string;
  /** The fence this leadership took. */
  fence: number | null;
  /** PTTL of the lease; null if the key has no expiry (which the lease scripts never leave). */
  remainingMs: number | null;
  /** Redis clock, ms. */
  acquiredAt: number | null;
  /** now - acquiredAt. */
  heldForMs: number | null;
}

/** A replica seen in the heartbeat hash or the role hash (or both). */
export interface ReplicaRole {
  id: string;
  /** Redis clock, ms; null when the replica has published a role but no heartbeat. */
  lastHeartbeat: number | null;
  ageMs: number | null;
  /** The replica's own view: `leader:<fence>` or `follower`; null when it has published none. */
  role: string | null;
}

export interface LeaderRead {
  /** Redis clock, ms, read in the same transaction as everything else. */
  now: number;
  lease: Lease | null;
  /** The fence counter: the latest fence ever issued (0 when none was). */
  fence: number;
  /** Sorted by id. */
  replicas: ReplicaRole[];
}

function toNumber(value: string | undefined | null): number | null {
  if (value === undefined || value === null || value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * Reads the lease, its TTL, the fence counter, heartbeats and roles in one MULTI, so that the
 * lease hash and its TTL belong together (a lease cannot expire between the two reads).
 */
export async function readLeader(store: Store): Promise<LeaderRead> {
  const k = store.keys;
  // Keyed commands first (a cluster routes a transaction by its first key); TIME last.
  const replies = await store.redis.multi().hgetall(k.leader).pttl(k.leader).get(k.fence).hgetall(k.replicas).hgetall(k.replicaRoles).time().exec();
  if (replies === null) throw new Error("the transaction reading the leader lease was aborted");
  const values = replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  const [leaseHash, pttl, fenceText, heartbeats, roles, time] = values as [
    Record<string, string>,
    number,
    string | null,
    Record<string, string>,
    Record<string, string>,
    [string, string],
  ];
  const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);

  let lease: Lease | null = null;
  if (Object.keys(leaseHash).length > 0) {
    const acquiredAt = toNumber(leaseHash.acquiredAt);
    lease = {
      holder: leaseHash.holder ?? "",
      fence: toNumber(leaseHash.fence),
      remainingMs: pttl >= 0 ? pttl : null,
      acquiredAt,
      heldForMs: acquiredAt === null ? null : now - acquiredAt,
    };
  }

  const ids = [...new Set([...Object.keys(heartbeats), ...Object.keys(roles)])].sort((a, b) => a.localeCompare(b));
  const replicas = ids.map((id): ReplicaRole => {
    const lastHeartbeat = toNumber(heartbeats[id]);
    return { id, lastHeartbeat, ageMs: lastHeartbeat === null ? null : now - lastHeartbeat, role: roles[id] ?? null };
  });
  return { now, lease, fence: toNumber(fenceText) ?? 0, replicas };
}

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
