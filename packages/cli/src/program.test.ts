import { describe, expect, it } from "vitest";
import { type Invocation, type Printed, UsageError, parseInvocation } from "./program.js";

function capture() {
  let stdout = "";
  return { io: { stdout: (s: string) => void (stdout += s), stderr: () => undefined }, stdout: () => stdout };
}

const parse = (argv: string[]): Invocation => {
  const result = parseInvocation(argv, capture().io);
  if ("printed" in result) throw new Error(`${argv.join(" ")} printed help`);
  return result;
};

const fails = (argv: string[]) => {
  try {
    parseInvocation(argv, capture().io);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`expected ${argv.join(" ")} to be refused`);
};

describe("parseInvocation", () => {
  it("reads commands, their options and the global options in any order", () => {
    expect(parse(["--json", "steals", "--limit", "5", "-n", "ns1"])).toMatchObject({
      command: "steals",
      args: { limit: 5 },
      json: true,
      redis: undefined,
      namespace: "ns1",
    });
    expect(parse(["steals"]).args).toEqual({ limit: 20 });
    expect(parse(["task", "t-1.a", "--redis", "rediss://h:6380"])).toMatchObject({ command: "task", args: { taskId: "t-1.a" }, redis: "rediss://h:6380" });
    expect(parse(["status", "--redis", "redis+sentinel://h1:26379,h2/primary"])).toMatchObject({ redis: "redis+sentinel://h1:26379,h2/primary" });
    expect(parse(["status", "--redis", "redis+cluster://n1:7000,n2:7001"])).toMatchObject({ redis: "redis+cluster://n1:7000,n2:7001" });
    expect(parse(["agent", "drain", "a-1", "--json"])).toMatchObject({ command: "agent drain", args: { agentId: "a-1", wait: undefined }, json: true });
    expect(parse(["agent", "drain", "a1", "--wait", "--json", "--timeout", "0.25"])).toMatchObject({ args: { wait: { timeoutMs: 250 } }, json: true });
    expect(parse(["agent", "drain", "a1", "--wait"]).args).toMatchObject({ wait: { timeoutMs: 60_000 } });
    expect(parse(["tasks", "--state", "running", "--agent", "a1", "--type", "resize", "--limit", "7", "--cursor", "42"]).args).toEqual({
      filter: { state: "running", agent: "a1", type: "resize" },
      limit: 7,
      cursor: "42",
    });
    expect(parse(["tasks", "--agent", ""]).args).toMatchObject({ filter: { agent: "" }, cursor: "0" });
    expect(parse(["events", "tail", "-f", "--kind", "task:stolen,agent:draining"]).args).toEqual({
      limit: 20,
      kinds: ["task:stolen", "agent:draining"],
      follow: true,
    });
    expect(parse(["dlq", "replay", "1700000000000-3"])).toMatchObject({ command: "dlq replay", args: { id: "1700000000000-3" } });
    expect(parse(["dlq", "list", "--before", "1-0", "--limit", "3"]).args).toEqual({ limit: 3, before: "1-0" });
    expect(parse(["doctor", "--stuck-after", "1.5"]).args).toEqual({ stuckAfterMs: 1500 });
    expect(parse(["watch", "--interval", "0.5"]).args).toEqual({ intervalMs: 500 });
  });

  it("prints help and the version to stdout, per command too", () => {
    for (const argv of [["--help"], ["help"], ["-h"]]) {
      const out = capture();
      expect(parseInvocation(argv, out.io)).toEqual({ printed: true, code: 0 } satisfies Printed);
      expect(out.stdout()).toMatch(/^Usage: worksteal <command> \[options\]/);
      for (const word of ["tasks", "queues", "events", "dlq", "doctor", "watch", "agent drain <id>", "Exit status"]) expect(out.stdout()).toContain(word);
    }
    const drain = capture();
    parseInvocation(["agent", "drain", "--help"], drain.io);
    expect(drain.stdout()).toMatch(/^Usage: worksteal agent drain \[options\] <id>/);
    expect(drain.stdout()).toContain("--timeout <s>");
    // The global options are listed under every command.
    expect(drain.stdout()).toMatch(/Global Options:[\s\S]*--namespace <ns>/);
    const version = capture();
    expect(parseInvocation(["--version"], version.io)).toEqual({ printed: true, code: 0 });
    expect(version.stdout()).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("names the option or argument in every refusal, in one line", () => {
    expect(fails(["status", "--bogus"])).toBe("unknown option '--bogus' (see worksteal --help)");
    expect(fails(["statsu"])).toBe("unknown command 'statsu' (Did you mean status?) (see worksteal --help)");
    expect(fails(["status", "--redis"])).toBe("option '--redis <url>' argument missing");
    expect(fails(["status", "--redis", "http://x"])).toBe("--redis: expected a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL");
    expect(fails(["status", "--redis", "redis://"])).toBe("--redis: the URL names no host");
    expect(fails(["status", "--redis", "redis+sentinel://h1:26379"])).toBe(
      "--redis: expected redis+sentinel://[user:password@]host:port[,host:port…]/masterName",
    );
    // A value starting with '-' is the option's value, judged by its own check.
    expect(fails(["status", "--redis", "--json"])).toBe("--redis: expected a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL");
    expect(fails(["status", "--namespace", "a{b}"])).toMatch(/^--namespace: namespace may only contain/);
    expect(fails(["steals", "--limit", "0"])).toBe("--limit: must be at least 1");
    expect(fails(["steals", "--limit", "-1"])).toBe("--limit: must be a positive integer");
    expect(fails(["steals", "--limit", "2.5"])).toBe("--limit: must be a positive integer");
    expect(fails(["agents", "--limit", "2"])).toBe("unknown option '--limit' (see worksteal --help)");
    expect(fails(["task"])).toBe("missing required argument 'id'");
    expect(fails(["task", "a:b"])).toMatch(/^task id: /);
    expect(fails(["status", "extra"])).toMatch(/^too many arguments for 'status'/);
    expect(fails(["agent"])).toBe("agent needs an action (drain, undrain, remove; see worksteal agent --help)");
    expect(fails(["agent", "kill", "a1"])).toBe("unknown agent action 'kill' (actions: drain, undrain, remove)");
    expect(fails(["agent", "drain", "a:1"])).toMatch(/^agent id: agent id may only contain/);
    expect(fails(["agent", "drain", "a1", "a2"])).toMatch(/^too many arguments for 'drain'/);
    expect(fails(["agent", "drain", "a1", "--wait", "--timeout", "0"])).toBe("--timeout: must be more than 0");
    expect(fails(["agent", "drain", "a1", "--wait", "--timeout", "soon"])).toBe("--timeout: must be a number of seconds");
    expect(fails(["agent", "drain", "a1", "--timeout", "5"])).toBe("--timeout applies only to agent drain --wait");
    expect(fails(["status", "--wait"])).toBe("unknown option '--wait' (see worksteal --help)");
    expect(fails(["tasks", "--state", "lost"])).toMatch(/^--state: /);
    expect(fails(["tasks", "--cursor", "abc"])).toBe("--cursor: expected the cursor a previous page printed");
    expect(fails(["events"])).toMatch(/^events needs an action \(tail;/);
    expect(fails(["events", "tail", "--kind", "task:lost"])).toMatch(/^--kind: expected event kinds among task:assigned/);
    expect(fails(["dlq", "show", "x"])).toBe("dead letter id: expected a stream entry id such as 1700000000000-0");
    expect(fails(["dlq", "purge"])).toBe("unknown dlq action 'purge' (actions: list, show, replay, drop)");
    expect(fails(["watch", "--interval", "0.01"])).toBe("--interval: must be at least 0.1");
    for (const argv of [["frobnicate"], ["steals", "--limit"], ["tasks", "--type", ""], ["doctor", "--stuck-after", "x"]])
      expect(fails(argv)).not.toMatch(/\n/);
  });
});
