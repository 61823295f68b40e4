import { describe, expect, it } from "vitest";
import { clusterEndpointOf, redisEndpointOf } from "./connection-settings.js";

describe("redisEndpointOf", () => {
  it("a plain URL goes to ioredis as it is, exactly as before", () => {
    expect(redisEndpointOf("redis://127.0.0.1:6379/2")).toEqual({ url: "redis://127.0.0.1:6379/2", options: {} });
  });

  it("the target's password and certificates; TLS only for rediss://", () => {
    const tls = { ca: "CA PEM", cert: "CERT PEM", key: "KEY PEM" };
    expect(redisEndpointOf({ url: "rediss://h:6380", password: "pw", tls })).toEqual({ url: "rediss://h:6380", options: { password: "pw", tls } });
    expect(redisEndpointOf({ url: "redis://h:6379", tls })).toEqual({ url: "redis://h:6379", options: {} });
  });

  it("a Sentinel URL: the sentinels and the master's name; the URL's password beats the setting", () => {
    expect(redisEndpointOf({ url: "redis+sentinel://:inurl@10.0.0.1:26379,[::1]:26380,sentinel-c/mymaster", password: "setting" })).toEqual({
      options: {
        sentinels: [
          { host: "10.0.0.1", port: 26379 },
          { host: "::1", port: 26380 },
          { host: "sentinel-c", port: 26379 },
        ],
        name: "mymaster",
        password: "inurl",
      },
    });
    expect(redisEndpointOf({ url: "redis+sentinel://s1:1/m", password: "setting" }).options).toMatchObject({ password: "setting" });
  });

  it("a malformed Sentinel URL is refused with what is expected", () => {
    expect(() => redisEndpointOf("redis+sentinel://s1:1,s2:x/m")).toThrow("bad Sentinel URL: bad sentinel address 's2:x': expected host:port");
    expect(() => redisEndpointOf("redis+sentinel://s1:1")).toThrow(/expected redis\+sentinel:\/\/\[user:password@\]host:port/);
  });
});

describe("clusterEndpointOf", () => {
  it("the nodes, and for every node the password, ACL user and certificates a single connection would get", () => {
    const tls = { ca: "CA PEM", cert: "CERT PEM", key: "KEY PEM" };
    expect(clusterEndpointOf({ url: "rediss+cluster://ws-agent-a1:inurl@n1:7000,[::1]:7001,n3", password: "setting", tls })).toEqual({
      nodes: [
        { host: "n1", port: 7000 },
        { host: "::1", port: 7001 },
        { host: "n3", port: 6379 },
      ],
      nodeOptions: { username: "ws-agent-a1", password: "inurl", tls },
    });
    // The setting's password when the URL has none; no TLS without the TLS scheme, whatever files are set.
    expect(clusterEndpointOf({ url: "redis+cluster://n1:7000", password: "setting", tls }).nodeOptions).toEqual({ password: "setting" });
  });

  it("a malformed cluster URL is refused with what is expected; a single connection refuses a cluster URL", () => {
    expect(() => clusterEndpointOf("redis+cluster://n1:7000/2")).toThrow(/^bad cluster URL: expected redis\+cluster:\/\//);
    expect(() => redisEndpointOf("redis+cluster://n1:7000")).toThrow(/needs a Cluster connection/);
  });
});
