import { describe, expect, it } from "vitest";
import { isClusterUrl, isTlsRedisUrl, maskRedisUrl, parseClusterUrl, redisUrlProblem } from "./redis-url.js";

describe("cluster URLs", () => {
  it("several nodes, default port 6379, IPv6 in brackets, credentials decoded, TLS from the scheme", () => {
    expect(parseClusterUrl("redis+cluster://10.0.0.1:7000,[::1]:7001,node-c/")).toEqual({
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "::1", port: 7001 },
        { host: "node-c", port: 6379 },
      ],
      tls: false,
    });
    expect(parseClusterUrl("rediss+cluster://ws-agent:p%40ss@n1:7000")).toEqual({
      nodes: [{ host: "n1", port: 7000 }],
      tls: true,
      username: "ws-agent",
      password: "p@ss",
    });
  });

  it("a malformed cluster URL is refused in one line that says what is expected", () => {
    expect(parseClusterUrl("redis+cluster://n1:7000/3")).toMatch(/no database number/);
    expect(parseClusterUrl("redis+cluster://n1:7000,n2:x")).toBe("bad cluster node address 'n2:x': expected host:port");
    expect(parseClusterUrl("redis+cluster://n1:70000")).toBe("bad cluster node port in 'n1:70000'");
    expect(redisUrlProblem("redis+cluster://")).toMatch(/^expected redis\+cluster:\/\//);
  });

  it("every form this project takes passes; anything else says what is expected", () => {
    for (const url of ["redis://h:1", "rediss://h:1", "redis+sentinel://s:1/m", "redis+cluster://n:1", "rediss+cluster://n:1,m:2"]) {
      expect(redisUrlProblem(url)).toBeUndefined();
    }
    expect(redisUrlProblem("http://h:1")).toBe("expected redis://, rediss://, redis+sentinel:// or redis+cluster:// (rediss+cluster://), not http://");
    expect(redisUrlProblem("not a url")).toBe("Invalid url");
  });

  it("which URLs name a cluster, which use TLS", () => {
    expect(["redis+cluster://n:1", "rediss+cluster://n:1", "redis://n:1", "redis+sentinel://s:1/m"].map(isClusterUrl)).toEqual([true, true, false, false]);
    expect(["rediss://n:1", "rediss+cluster://n:1", "redis://n:1", "redis+cluster://n:1"].map(isTlsRedisUrl)).toEqual([true, true, false, false]);
  });

  it("the password is masked in cluster URLs as in the others", () => {
    expect(maskRedisUrl("redis+cluster://user:secret@n1:7000,n2:7001")).toBe("redis+cluster://user:***@n1:7000,n2:7001");
    expect(maskRedisUrl("rediss+cluster://:secret@n1:7000")).toBe("rediss+cluster://:***@n1:7000");
    expect(maskRedisUrl("redis+cluster://n1:7000")).toBe("redis+cluster://n1:7000");
    expect(maskRedisUrl("redis+cluster://:secret@n1:7000/5")).toBe("(unparsable Redis URL)");
    expect(maskRedisUrl("redis+sentinel://:secret@s:1/m")).toBe("redis+sentinel://:***@s:1/m");
  });
});
