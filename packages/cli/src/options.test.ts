import { describe, expect, it } from "vitest";
import { UsageError, parseInvocation } from "./options.js";

const fails = (argv: string[]) => {
  try {
    parseInvocation(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`expected ${argv.join(" ")} to be refused`);
};

describe("parseInvocation", () => {
  it("reads commands and options in any order", () => {
    expect(parseInvocation(["--json", "steals", "--limit", "5", "-n", "ns1"])).toEqual({
      command: { name: "steals", limit: 5 },
      json: true,
      help: false,
      redis: undefined,
      namespace: "ns1",
    });
    expect(parseInvocation(["steals"]).command).toEqual({ name: "steals", limit: 20 });
    expect(parseInvocation(["task", "t-1.a", "--redis", "rediss://h:6380"])).toMatchObject({
      command: { name: "task", taskId: "t-1.a" },
      redis: "rediss://h:6380",
    });
    expect(parseInvocation(["leader", "--json"])).toMatchObject({ command: { name: "leader" }, json: true });
    expect(parseInvocation(["status", "--help"]).help).toBe(true);
    expect(parseInvocation([]).command).toBeUndefined();
    expect(parseInvocation(["agent", "drain", "a-1", "--json"])).toMatchObject({
      command: { name: "agent", action: "drain", agentId: "a-1", wait: undefined },
      json: true,
    });
    expect(parseInvocation(["agent", "--wait", "drain", "a1"]).command).toEqual({ name: "agent", action: "drain", agentId: "a1", wait: { timeoutMs: 60_000 } });
    expect(parseInvocation(["agent", "drain", "a1", "--wait", "--timeout", "0.25"]).command).toMatchObject({ wait: { timeoutMs: 250 } });
  });

  it("names the option or argument in every refusal", () => {
    expect(fails(["status", "--bogus"])).toMatch(/^unknown option '--bogus'/);
    expect(fails(["status", "--redis"])).toMatch(/--redis/);
    expect(fails(["status", "--redis", "http://x"])).toBe("--redis: expected a redis:// or rediss:// URL");
    expect(fails(["status", "--redis", "not a url"])).toMatch(/^--redis: /);
    expect(fails(["status", "--redis", "redis://"])).toBe("--redis: the URL names no host");
    expect(fails(["status", "--namespace", "a{b}"])).toMatch(/^--namespace: namespace may only contain/);
    expect(fails(["steals", "--limit", "0"])).toBe("--limit: must be at least 1");
    // A negative number is the option's value, judged by its own check: one line, not node's three.
    expect(fails(["steals", "--limit", "-1"])).toBe("--limit: must be a positive integer");
    expect(fails(["steals", "--limit=-3"])).toBe("--limit: must be a positive integer");
    expect(fails(["agent", "drain", "a1", "--wait", "--timeout", "-2"])).toBe("--timeout: must be a number of seconds");
    expect(fails(["status", "--redis", "--json"])).toBe("--redis needs a value (one starting with '-' is written --redis=-...)");
    expect(fails(["steals", "--limit"])).not.toMatch(/\n/);
    expect(fails(["steals", "--limit", "2.5"])).toBe("--limit: must be a positive integer");
    expect(fails(["agents", "--limit", "2"])).toBe("--limit applies only to steals");
    expect(fails(["task"])).toMatch(/task takes one task id/);
    expect(fails(["task", "a:b"])).toMatch(/^task id: /);
    expect(fails(["status", "extra"])).toMatch(/status takes no arguments/);
    expect(fails(["leader", "extra"])).toMatch(/leader takes no arguments/);
    expect(fails(["leader", "--limit", "2"])).toBe("--limit applies only to steals");
    expect(fails(["frobnicate"])).toMatch(/^unknown command 'frobnicate'/);
    expect(fails(["agent"])).toMatch(/^agent needs an action \(drain, undrain, remove;/);
    expect(fails(["agent", "kill", "a1"])).toBe("unknown agent action 'kill' (actions: drain, undrain, remove)");
    expect(fails(["agent", "drain"])).toMatch(/^agent drain takes one agent id/);
    expect(fails(["agent", "drain", "a1", "a2"])).toMatch(/^agent drain takes one agent id/);
    expect(fails(["agent", "drain", "a:1"])).toMatch(/^agent id: agent id may only contain/);
    expect(fails(["agent", "drain", "a1", "--wait", "--timeout", "0"])).toBe("--timeout: must be more than 0");
    expect(fails(["agent", "drain", "a1", "--wait", "--timeout", "soon"])).toBe("--timeout: must be a number of seconds");
    expect(fails(["agent", "drain", "a1", "--timeout", "5"])).toBe("--timeout applies only to agent drain --wait");
    expect(fails(["status", "--wait"])).toBe("--wait applies only to agent drain");
  });
});
