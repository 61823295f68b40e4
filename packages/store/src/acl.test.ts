import { describe, expect, it } from "vitest";
import { aclUser, aclUserName, aclUsers, formatAclFileLine, formatSetUser } from "./acl.js";

/** The key patterns of a rule list, selectors' included, with their access prefix. */
const patterns = (rules: readonly string[]) => rules.flatMap((r) => r.replace(/^\(|\)$/g, "").split(" ")).filter((t) => t.includes("~"));

describe("ACL rules per role", () => {
  it("names a user per role, an agent's after its id", () => {
    expect(aclUsers("prod", ["a1", "gpu-2"]).map((u) => u.name)).toEqual(["ws-prod-coordinator", "ws-prod-reader", "ws-prod-agent-a1", "ws-prod-agent-gpu-2"]);
    expect(aclUserName("prod", "agent", "a1")).toBe("ws-prod-agent-a1");
  });

  it("starts every user from nothing and leaves its passwords alone", () => {
    for (const user of aclUsers("prod", ["a1"])) {
      expect(user.rules.slice(0, 5)).toEqual(["on", "resetkeys", "resetchannels", "-@all", "clearselectors"]);
      expect(user.rules.some((r) => /^(reset|resetpass|nopass|[<>#!])/.test(r) && r !== "resetkeys" && r !== "resetchannels")).toBe(false);
    }
  });

  it("keeps every role inside its namespace's keys", () => {
    for (const user of aclUsers("prod", ["a1"])) {
      for (const pattern of patterns(user.rules)) expect(pattern, user.name).toMatch(/^(%[RW]+)?~ws:\{prod\}:/);
    }
  });

  it("gives an agent its own keys, task records, and write-only the event stream and agent set; no other agent's", () => {
    const rules = aclUser("prod", "agent", "a1").rules;
    const keys = patterns(rules);
    expect(keys).toEqual(expect.arrayContaining(["~ws:{prod}:agent:a1", "~ws:{prod}:agent:a1:*", "~ws:{prod}:q:agent.a1:*", "~ws:{prod}:task:*"]));
    expect(rules).toContain("(+xadd %W~ws:{prod}:events)");
    expect(rules).toContain("(+sadd %W~ws:{prod}:agents)");
    // Its scripts' counts: increments of the fleet's load sets only; no workload hash (the coordinators fold them).
    expect(rules).toContain("(+zincrby ~ws:{prod}:loads:queued ~ws:{prod}:loads:running)");
    // And write-only the stamps of the counts it changes.
    expect(rules).toContain("(+zadd %W~ws:{prod}:loads:changed)");
    expect(keys.some((k) => k.includes("workload") || k.includes("a2") || k.endsWith("{prod}:*"))).toBe(false);
  });

  it("gives the coordinator no consumer-group command: the fold reads after its cursor", () => {
    const commands = aclUser("prod", "coordinator").rules.flatMap((r) => r.replace(/^\(|\)$/g, "").split(" "));
    for (const group of ["+xack", "+xautoclaim", "+xreadgroup", "+xgroup", "+xclaim"]) expect(commands).not.toContain(group);
    expect(commands).toEqual(expect.arrayContaining(["+xread", "+xinfo", "+xpending"]));
  });

  it("gives the reader read-only keys and no write command", () => {
    const rules = aclUser("prod", "reader").rules;
    const selectors = rules.filter((r) => r.startsWith("("));
    expect(selectors).toHaveLength(1);
    expect(selectors[0]).toMatch(/ %R~ws:\{prod\}:\*\)$/);
    const commands = rules.flatMap((r) => r.replace(/^\(|\)$/g, "").split(" ")).filter((t) => t.startsWith("+"));
    for (const write of ["+set", "+del", "+hset", "+xadd", "+sadd", "+zadd", "+lpush", "+xtrim", "+xdel", "+xack", "+config|get"])
      expect(commands).not.toContain(write);
  });

  it("refuses names that are not a namespace or an agent id", () => {
    expect(() => aclUser("a*b", "reader")).toThrow();
    expect(() => aclUser("prod", "agent", "a[1]")).toThrow();
    expect(() => aclUser("prod", "agent")).toThrow();
  });

  it("formats ACL SETUSER lines and aclfile lines from the same rules", () => {
    const user = aclUser("prod", "reader");
    expect(formatSetUser(user)).toBe(`ACL SETUSER ws-prod-reader ${user.rules.join(" ")}`);
    expect(formatAclFileLine(user)).toBe(`user ws-prod-reader ${user.rules.join(" ")}`);
  });
});
