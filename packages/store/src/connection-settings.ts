import { isClusterUrl, parseClusterUrl, parseSentinelUrl, type HostPort, type RedisTarget, SENTINEL_SCHEME } from "@worksteal/protocol";
import type { RedisOptions } from "ioredis";

/** What `new Redis(...)` is given to reach a target: a URL ioredis parses, or none for Sentinel. */
export interface RedisEndpoint {
  url?: string;
  /** Where and how to connect; the URL's own settings (host, port, db, user, password) beat these. */
  options: RedisOptions;
}

/** What `new Cluster(...)` is given: some nodes to ask for the slot map, and how to connect to every node. */
export interface ClusterEndpoint {
  nodes: HostPort[];
  /** Each node connection's password, ACL user and TLS. */
  nodeOptions: RedisOptions;
}

/**
 * How to reach `target`. A `redis://` or `rediss://` URL goes to ioredis as it is (TLS for
 * rediss://, with the target's certificates); the target's password applies when the URL has
 * none. A Sentinel URL becomes ioredis' sentinel options: it asks the sentinels for the primary,
 * and asks again after a failover. A cluster URL is refused here: see clusterEndpointOf.
 */
export function redisEndpointOf(target: string | RedisTarget): RedisEndpoint {
  const { url, password, tls } = targetOf(target);
  const givenPassword = password === undefined ? {} : { password };
  if (isClusterUrl(url)) throw new Error("a cluster URL needs a Cluster connection, not a single one (clusterEndpointOf)");
  if (!url.startsWith(SENTINEL_SCHEME)) {
    return { url, options: { ...givenPassword, ...(url.startsWith("rediss://") && tls !== undefined ? { tls: { ...tls } } : {}) } };
  }
  const sentinel = parseSentinelUrl(url);
  if (typeof sentinel === "string") throw new Error(`bad Sentinel URL: ${sentinel}`);
  return {
    options: {
      sentinels: sentinel.sentinels,
      name: sentinel.masterName,
      ...givenPassword,
      ...(sentinel.password === undefined ? {} : { password: sentinel.password }),
      ...(sentinel.username === undefined ? {} : { username: sentinel.username }),
    },
  };
}

/**
 * How to reach the cluster a `redis+cluster://` or `rediss+cluster://` URL names: its nodes, and
 * for every node the same password (the URL's beats the target's), ACL user and TLS certificates
 * as a single connection would get.
 */
export function clusterEndpointOf(target: string | RedisTarget): ClusterEndpoint {
  const { url, password, tls } = targetOf(target);
  const cluster = parseClusterUrl(url);
  if (typeof cluster === "string") throw new Error(`bad cluster URL: ${cluster}`);
  const nodePassword = cluster.password ?? password;
  return {
    nodes: cluster.nodes,
    nodeOptions: {
      ...(nodePassword === undefined ? {} : { password: nodePassword }),
      ...(cluster.username === undefined ? {} : { username: cluster.username }),
      ...(cluster.tls ? { tls: { ...tls } } : {}),
    },
  };
}

function targetOf(target: string | RedisTarget): RedisTarget {
  return typeof target === "string" ? { url: target } : target;
}
