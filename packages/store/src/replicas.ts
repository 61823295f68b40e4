import { replyValues, timeToMs } from "./replies.js";
import type { Store } from "./store.js";

/** How a replica reports its role: `leader:<fence>` or `follower`. */
const roleOf = (fence: number | undefined) => (fence === undefined ? "follower" : `leader:${fence}`);

/** A replica's heartbeat (`now`, Redis clock) and role, written together. */
export async function writeReplicaHeartbeat(store: Store, replicaId: string, now: number, fence: number | undefined): Promise<void> {
  const k = store.keys;
  replyValues(await store.redis.multi().hset(k.replicas, replicaId, String(now)).hset(k.replicaRoles, replicaId, roleOf(fence)).exec(), "replica heartbeat");
}

/** A replica's role, as it changes. */
export async function publishReplicaRole(store: Store, replicaId: string, fence: number | undefined): Promise<void> {
  await store.redis.hset(store.keys.replicaRoles, replicaId, roleOf(fence));
}

/** Takes a stopping replica out of the registry: its heartbeat and its role. */
export async function forgetReplica(store: Store, replicaId: string): Promise<void> {
  replyValues(await store.redis.multi().hdel(store.keys.replicas, replicaId).hdel(store.keys.replicaRoles, replicaId).exec(), "replica registry");
}

/** Each replica's last heartbeat (Redis clock, ms), by replica id. */
export async function readReplicaHeartbeats(store: Store): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await store.redis.hgetall(store.keys.replicas)).map(([id, at]) => [id, Number(at) || 0]));
}

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
  const [leaseHash, pttl, fenceText, heartbeats, roles, time] = replyValues(replies, "the leader lease") as [
    Record<string, string>,
    number,
    string | null,
    Record<string, string>,
    Record<string, string>,
    [string, string],
  ];
  const now = timeToMs(time);

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
