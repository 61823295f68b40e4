import { randomBytes } from "node:crypto";
import { Cluster, type Redis } from "ioredis";

const SAFE = /^[A-Za-z0-9_-]+$/;

/** A fresh namespace such as `t-1f2e3d4c`; always matches /^[A-Za-z0-9_-]+$/ (the protocol's rule). */
export function testNamespace(prefix = "t"): string {
  if (!SAFE.test(prefix) || prefix.length > 55) {
    throw new Error(`testNamespace: prefix ${JSON.stringify(prefix)} must match ${SAFE} and be at most 55 chars`);
  }
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/**
 * Deletes every key of a namespace (`ws:{ns}:*`, the protocol's key layout) with SCAN + UNLINK,
 * on every master of a cluster (each scans only its own keys). For tests that run against a
 * shared REDIS_URL; returns how many keys were removed.
 */
export async function deleteNamespace(redis: Redis | Cluster, namespace: string): Promise<number> {
  if (!SAFE.test(namespace)) throw new Error(`deleteNamespace: bad namespace ${JSON.stringify(namespace)}`);
  let removed = 0;
  for (const node of redis instanceof Cluster ? redis.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `ws:{${namespace}}:*`, "COUNT", 500);
      cursor = next;
      // One slot, so one UNLINK takes them all (a cluster refuses keys of several slots in one call).
      if (keys.length > 0) removed += await node.unlink(...keys);
    } while (cursor !== "0");
  }
  return removed;
}
