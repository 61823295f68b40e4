/**
 * What a Redis connection needs besides its URL: secrets and certificates already read (reading
 * files is @worksteal/config's), so that every connection of a process is opened alike.
 */
export interface RedisTarget {
  /**
   * `redis://`, `rediss://` (TLS), `redis+sentinel://host:port,host:port/master`, or
   * `redis+cluster://host:port,host:port` (`rediss+cluster://` with TLS).
   */
  url: string;
  /** Used when the URL carries no password of its own. Never logged. */
  password?: string;
  /** PEM texts for a TLS connection (`rediss://`, `rediss+cluster://`): the CA that signed the server, and a client certificate. */
  tls?: { ca?: string; cert?: string; key?: string };
}

export const SENTINEL_SCHEME = "redis+sentinel:";
export const CLUSTER_SCHEME = "redis+cluster:";
/** A cluster whose nodes speak TLS. */
export const TLS_CLUSTER_SCHEME = "rediss+cluster:";

export interface HostPort {
  host: string;
  port: number;
}

export interface SentinelUrl {
  sentinels: HostPort[];
  /** The name the sentinels monitor the primary under. */
  masterName: string;
  /** The primary's and replicas' password (not the sentinels'). */
  password?: string;
  username?: string;
}

export interface ClusterUrl {
  /** Some of the cluster's nodes: ioredis learns the others (and who serves which slot) from them. */
  nodes: HostPort[];
  /** Every node is reached over TLS (`rediss+cluster://`). */
  tls: boolean;
  /** Every node's password (an ACL user's, with username). */
  password?: string;
  username?: string;
}

const SENTINEL_URL = /^redis\+sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/([^/?#]+)\/?$/;
const CLUSTER_URL = /^rediss?\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/?$/;

/**
 * Parses `redis+sentinel://[user:password@]host:port[,host:port…]/masterName`, or says in one
 * line what is wrong with it. The WHATWG URL parser refuses several hosts, hence a parser here.
 */
export function parseSentinelUrl(url: string): SentinelUrl | string {
  const match = SENTINEL_URL.exec(url);
  if (match === null) return "expected redis+sentinel://[user:password@]host:port[,host:port…]/masterName";
  const [, user, password, hosts, masterName] = match;
  const sentinels = parseHosts(hosts!, "sentinel", 26379);
  if (typeof sentinels === "string") return sentinels;
  return { sentinels, masterName: decodeURIComponent(masterName!), ...credentials(user, password) };
}

/**
 * Parses `redis+cluster://[user:password@]host:port[,host:port…]` (or `rediss+cluster://` for
 * TLS), or says in one line what is wrong with it. No database number: a cluster has only db 0.
 */
export function parseClusterUrl(url: string): ClusterUrl | string {
  const match = CLUSTER_URL.exec(url);
  if (match === null) return "expected redis+cluster://[user:password@]host:port[,host:port…] (rediss+cluster:// for TLS), with no database number";
  const [, user, password, hosts] = match;
  const nodes = parseHosts(hosts!, "cluster node", 6379);
  if (typeof nodes === "string") return nodes;
  return { nodes, tls: url.startsWith(TLS_CLUSTER_SCHEME), ...credentials(user, password) };
}

function parseHosts(hosts: string, what: string, defaultPort: number): HostPort[] | string {
  const parsed: HostPort[] = [];
  for (const hostPort of hosts.split(",")) {
    const at = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(hostPort);
    if (at === null) return `bad ${what} address '${hostPort}': expected host:port`;
    const port = Number(at[2] ?? defaultPort);
    if (port < 1 || port > 65535) return `bad ${what} port in '${hostPort}'`;
    parsed.push({ host: at[1]!.replace(/^\[|\]$/g, ""), port });
  }
  return parsed;
}

function credentials(user: string | undefined, password: string | undefined): { password?: string; username?: string } {
  return { ...(password ? { password: decodeURIComponent(password) } : {}), ...(user ? { username: decodeURIComponent(user) } : {}) };
}

/** Whether `url` names a Redis Cluster (`redis+cluster://` or `rediss+cluster://`). */
export function isClusterUrl(url: string): boolean {
  return url.startsWith(`${CLUSTER_SCHEME}//`) || url.startsWith(`${TLS_CLUSTER_SCHEME}//`);
}

/** Whether connections to `url` use TLS: `rediss://` and `rediss+cluster://`. */
export function isTlsRedisUrl(url: string): boolean {
  return url.startsWith("rediss://") || url.startsWith(`${TLS_CLUSTER_SCHEME}//`);
}

/** What is wrong with `url` as a Redis URL of any form this project takes, in one line; undefined when nothing is. */
export function redisUrlProblem(url: string): string | undefined {
  if (url.startsWith(SENTINEL_SCHEME)) {
    const parsed = parseSentinelUrl(url);
    return typeof parsed === "string" ? parsed : undefined;
  }
  if (url.startsWith(CLUSTER_SCHEME) || url.startsWith(TLS_CLUSTER_SCHEME)) {
    const parsed = parseClusterUrl(url);
    return typeof parsed === "string" ? parsed : undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "Invalid url";
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    return `expected redis://, rediss://, ${SENTINEL_SCHEME}// or ${CLUSTER_SCHEME}// (${TLS_CLUSTER_SCHEME}//), not ${parsed.protocol}//`;
  return undefined;
}

/** The URL with any password replaced by `***`, for logs and messages. */
export function maskRedisUrl(url: string): string {
  if (url.startsWith(SENTINEL_SCHEME) || url.startsWith(CLUSTER_SCHEME) || url.startsWith(TLS_CLUSTER_SCHEME)) {
    const parsed = url.startsWith(SENTINEL_SCHEME) ? parseSentinelUrl(url) : parseClusterUrl(url);
    if (typeof parsed === "string") return "(unparsable Redis URL)";
    return parsed.password === undefined ? url : url.replace(/^(rediss?\+(?:sentinel|cluster):\/\/[^:@/]*:)[^@/]*@/, "$1***@");
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Unparsable, so where a password would be is unknown: show nothing of it.
    return "(unparsable Redis URL)";
  }
  if (parsed.password === "") return url;
  parsed.password = "***";
  return parsed.toString();
}
