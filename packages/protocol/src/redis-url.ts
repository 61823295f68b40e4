/**
 * What a Redis connection needs besides its URL: secrets and certificates already read (reading
 * files is @worksteal/config's), so that every connection of a process is opened alike.
 */
export interface RedisTarget {
  /** `redis://`, `rediss://` (TLS) or `redis+sentinel://host:port,host:port/master`. */
  url: string;
  /** Used when the URL carries no password of its own. Never logged. */
  password?: string;
  /** PEM texts for a `rediss://` connection: the CA that signed the server, and a client certificate. */
  tls?: { ca?: string; cert?: string; key?: string };
}

export const SENTINEL_SCHEME = "redis+sentinel:";

export interface SentinelUrl {
  sentinels: Array<{ host: string; port: number }>;
  /** The name the sentinels monitor the primary under. */
  masterName: string;
  /** The primary's and replicas' password (not the sentinels'). */
  password?: string;
  username?: string;
}

const SENTINEL_URL = /^redis\+sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/([^/?#]+)\/?$/;

/**
 * Parses `redis+sentinel://[user:password@]host:port[,host:port…]/masterName`, or says in one
 * line what is wrong with it. The WHATWG URL parser refuses several hosts, hence a parser here.
 */
export function parseSentinelUrl(url: string): SentinelUrl | string {
  const match = SENTINEL_URL.exec(url);
  if (match === null) return "expected redis+sentinel://[user:password@]host:port[,host:port…]/masterName";
  const [, user, password, hosts, masterName] = match;
  const sentinels: SentinelUrl["sentinels"] = [];
  for (const hostPort of hosts!.split(",")) {
    const at = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(hostPort);
    if (at === null) return `bad sentinel address '${hostPort}': expected host:port`;
    const port = Number(at[2] ?? 26379);
    if (port < 1 || port > 65535) return `bad sentinel port in '${hostPort}'`;
    sentinels.push({ host: at[1]!.replace(/^\[|\]$/g, ""), port });
  }
  return {
    sentinels,
    masterName: decodeURIComponent(masterName!),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    ...(user ? { username: decodeURIComponent(user) } : {}),
  };
}

/** The URL with any password replaced by `***`, for logs and messages. */
export function maskRedisUrl(url: string): string {
  if (url.startsWith(SENTINEL_SCHEME)) {
    const sentinel = parseSentinelUrl(url);
    if (typeof sentinel === "string") return "(unparsable Redis URL)";
    return sentinel.password === undefined ? url : url.replace(/^(redis\+sentinel:\/\/[^:@/]*:)[^@/]*@/, "$1***@");
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
