/**
 * The Docker files without a Docker engine (none runs here): compose.yaml and prometheus.yml
 * parsed and checked, the Dockerfile's instructions read, and the image's /app laid out by the
 * script the Dockerfile runs (docker/assemble.sh), whose programs then run as plain processes
 * against the run's Redis, started by name from its bin/ as the container starts them.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Redis } from "ioredis";
import { parse } from "yaml";
import { z } from "zod";
import { readStatus, Store } from "@worksteal/store";
import { freePort, repoRoot, sleep, testNamespace } from "@worksteal/testkit";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const ROOT = repoRoot();
const DOCKER = join(ROOT, "docker");
/** On a busy two-core machine, four deploys and a cold start of each program take a while. */
const SLOW_MS = 120_000;

const CommandSchema = z.union([z.string().transform((s) => s.split(" ")), z.array(z.string())]);
const ServiceSchema = z.object({
  image: z.string(),
  command: CommandSchema.optional(),
  entrypoint: CommandSchema.optional(),
  environment: z.record(z.string(), z.string()).default({}),
  ports: z.array(z.string()).default([]),
  volumes: z.array(z.string()).default([]),
  healthcheck: z.object({ test: z.array(z.string()).optional(), disable: z.boolean().optional() }).optional(),
});
const ComposeSchema = z.object({ services: z.record(z.string(), ServiceSchema) });
const PrometheusSchema = z.object({
  scrape_configs: z.array(z.object({ metrics_path: z.string(), static_configs: z.array(z.object({ targets: z.array(z.string()) })) })),
});

const compose = ComposeSchema.parse(parse(readFileSync(join(DOCKER, "compose.yaml"), "utf8"), { merge: true }));
const services = Object.entries(compose.services);
const IMAGE = "worksteal:local";
const ofImage = services.filter(([, s]) => s.image === IMAGE);
const coordinators = ofImage.filter(([, s]) => s.command?.[0] === "worksteal-coordinator");
const agents = ofImage.filter(([, s]) => s.command?.[0] === "worksteal-demo-agent");

/** The Dockerfile's instructions (continuation lines joined), each as [keyword, rest], per stage. */
function dockerStages(): Array<Array<[string, string]>> {
  const text = readFileSync(join(DOCKER, "Dockerfile"), "utf8").replace(/\\\n\s*/g, " ");
  const stages: Array<Array<[string, string]>> = [];
  for (const line of text.split("\n")) {
    const match = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (match === null) continue;
    if (match[1] === "FROM") stages.push([]);
    stages.at(-1)?.push([match[1]!, match[2]!]);
  }
  return stages;
}
const stages = dockerStages();
const runtime = stages.at(-1) ?? [];
const instruction = (keyword: string) => runtime.filter(([k]) => k === keyword).map(([, rest]) => rest);
/** The runtime stage's ENV settings (`ENV A=1 B=2` form). */
const imageEnv = Object.fromEntries(instruction("ENV").flatMap((rest) => [...rest.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])));

describe("docker/compose.yaml", () => {
  it("Redis 7 keeps its data in an append-only file and refuses writes rather than evict keys", () => {
    const redis = compose.services.redis!;
    expect(redis.image).toMatch(/^redis:7(\.|$|-)/);
    const option = (name: string) => redis.command?.[redis.command.indexOf(`--${name}`) + 1];
    expect(redis.command?.[0]).toBe("redis-server");
    expect(option("appendonly")).toBe("yes");
    expect(option("maxmemory-policy")).toBe("noeviction");
    expect(redis.volumes.some((v) => v.endsWith(":/data"))).toBe(true);
    expect(redis.healthcheck?.test).toEqual(["CMD", "redis-cli", "ping"]);
  });

  it("three coordinator replicas, each with a health check, its own id and a host port to its HTTP port", () => {
    expect(coordinators.map(([name]) => name)).toEqual(["coordinator-1", "coordinator-2", "coordinator-3"]);
    const ids = coordinators.map(([, s]) => s.environment.WORKSTEAL_REPLICA_ID);
    expect(new Set(ids).size).toBe(3);
    const hostPorts = coordinators.map(([, s]) => {
      expect(s.healthcheck?.test).toEqual(["CMD", "worksteal-healthcheck"]);
      expect(s.environment.REDIS_URL).toBe("redis://redis:6379");
      expect(s.ports).toHaveLength(1);
      const [hostPort, containerPort] = s.ports[0]!.split(":");
      expect(containerPort).toBe(imageEnv.WORKSTEAL_HTTP_PORT);
      return hostPort;
    });
    expect(new Set(hostPorts).size).toBe(3);
  });

  it("demo agents with distinct ids, the load aimed at one of them; only coordinators have a health check", () => {
    expect(agents.length).toBeGreaterThanOrEqual(2);
    const agentIds = agents.map(([, s]) => s.environment.DEMO_AGENT_ID);
    expect(new Set(agentIds).size).toBe(agents.length);
    const [, load] = ofImage.find(([, s]) => s.command?.[0] === "worksteal-demo-load") ?? [];
    expect(agentIds).toContain(load?.environment.DEMO_HOT_AGENT);
    // The image's HEALTHCHECK asks a coordinator's /healthz: any other program would show unhealthy.
    for (const [name, service] of ofImage) {
      if (!coordinators.some(([n]) => n === name)) expect({ name, healthcheck: service.healthcheck }).toEqual({ name, healthcheck: { disable: true } });
    }
    // One namespace on one Redis for the whole fleet.
    expect(new Set(ofImage.map(([, s]) => `${s.environment.REDIS_URL} ${s.environment.WORKSTEAL_NAMESPACE}`)).size).toBe(1);
  });

  it("Prometheus scrapes /metrics of every coordinator on its HTTP port", () => {
    const [, prometheus] = services.find(([, s]) => s.image.startsWith("prom/prometheus:")) ?? [];
    const mount = prometheus?.volumes.find((v) => v.includes(":/etc/prometheus/prometheus.yml"));
    const source = join(DOCKER, mount?.split(":")[0] ?? "missing");
    const config = PrometheusSchema.parse(parse(readFileSync(source, "utf8")));
    const targets = config.scrape_configs.flatMap((c) => {
      expect(c.metrics_path).toBe("/metrics");
      return c.static_configs.flatMap((s) => s.targets);
    });
    expect(targets.sort()).toEqual(coordinators.map(([name]) => `${name}:${imageEnv.WORKSTEAL_HTTP_PORT}`).sort());
  });

  const composePlugin = spawnSync("docker", ["compose", "version"], { encoding: "utf8" }).status === 0;
  it.skipIf(!composePlugin)("`docker compose config` accepts it and sees the same services (skipped: no compose plugin here)", () => {
    const result = spawnSync("docker", ["compose", "-f", join(DOCKER, "compose.yaml"), "config", "--format", "json"], { encoding: "utf8" });
    expect(result.stderr).toBe("");
    const resolved = z.object({ services: z.record(z.string(), z.unknown()) }).parse(JSON.parse(result.stdout));
    expect(Object.keys(resolved.services).sort()).toEqual(services.map(([name]) => name).sort());
  });
});

describe("docker/Dockerfile", () => {
  it("builds in one stage and runs in another, as a user that is not root, the coordinator by default", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!;
    const pinned = /^PNPM_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, "scripts/bootstrap.sh"), "utf8"))?.[1];
    expect(build).toContainEqual(["ARG", `PNPM_VERSION=${pinned}`]);
    expect(build).toContainEqual(["RUN", "bash docker/assemble.sh /out"]);
    expect(instruction("COPY")).toEqual(["--from=build /out /app"]);
    expect(instruction("USER")).toHaveLength(1);
    expect(instruction("USER")[0]).not.toMatch(/^(root|0)(:|$)/);
    expect(imageEnv.PATH).toMatch(/^\/app\/bin:/);
    // In a container the HTTP port must be reachable from outside it: the wildcard address.
    expect(imageEnv.WORKSTEAL_HTTP_HOST).toBe("0.0.0.0");
    expect(imageEnv.WORKSTEAL_HTTP_PORT).toMatch(/^[1-9]\d*$/);
    expect(instruction("CMD")).toEqual(['["worksteal-coordinator"]']);
    expect(instruction("HEALTHCHECK")).toEqual([expect.stringMatching(/ CMD \["worksteal-healthcheck"\]$/)]);
  });

  it(".dockerignore keeps what is installed or built here out of the build context", () => {
    const patterns = readFileSync(join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"));
    expect(patterns).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", ".git"]));
    // What the build copies out of docker/ must stay in the context.
    expect(patterns.filter((p) => p.startsWith("docker"))).toEqual([]);
  });
});

interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A program of the image run as a plain process: by name, through the layout's bin/ on PATH. */
interface Program {
  /** Undefined while it runs. */
  status(): ExitStatus | undefined;
  stdout(): string;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
  readonly exited: Promise<ExitStatus>;
}

describe("the image's programs, laid out by docker/assemble.sh and run as plain processes", () => {
  let layout: string;
  let redis: Redis;
  const started: Program[] = [];

  beforeAll(() => {
    layout = join(mkdtempSync(join(tmpdir(), "worksteal-image-")), "app");
    const assembled = spawnSync("bash", [join(DOCKER, "assemble.sh"), layout], { encoding: "utf8", timeout: SLOW_MS });
    expect(assembled.status, assembled.stderr).toBe(0);
    redis = new Redis(inject("redisUrl"));
  }, SLOW_MS);

  afterAll(async () => {
    for (const program of started) program.kill("SIGKILL");
    await Promise.all(started.map((p) => p.exited));
    await redis?.quit();
    if (layout) rmSync(dirname(layout), { recursive: true, force: true });
  });

  /** Only what the container would have: its PATH (this test's node after bin/), HOME and the given settings. */
  function run(command: string, args: string[] = [], env: Record<string, string> = {}): Program {
    const child = spawn(command, args, {
      cwd: layout,
      env: { PATH: [join(layout, "bin"), dirname(process.execPath), process.env.PATH].join(":"), HOME: layout, NODE_ENV: "production", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    // Bounded: a program that logs a lot cannot fill this process's memory.
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout = (stdout + chunk).slice(-200_000)));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-200_000)));
    let status: ExitStatus | undefined;
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once("error", (error) => {
        stderr += `spawn error: ${error.message}\n`;
        resolve((status = { code: null, signal: null }));
      });
      child.once("close", (code, signal) => resolve((status = { code, signal })));
    });
    const program: Program = {
      status: () => status,
      stdout: () => stdout,
      stderr: () => stderr,
      kill: (signal = "SIGTERM") => void (child.exitCode === null && child.signalCode === null && child.kill(signal)),
      exited,
    };
    started.push(program);
    return program;
  }

  /** Retries `check` until it passes; fails at once, with the program's stderr, if the program exits first. */
  async function whileRunning<T>(program: Program, check: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + SLOW_MS;
    for (;;) {
      try {
        return await check();
      } catch (error) {
        const exit = program.status();
        if (exit !== undefined) throw new Error(`exited (code ${exit.code}, signal ${exit.signal}) while awaited:\n${program.stderr()}`);
        if (Date.now() > deadline) throw error;
      }
      await Promise.race([sleep(200), program.exited]);
    }
  }

  it("every program compose.yaml and the Dockerfile name is in bin/, executable, and a file of the layout", () => {
    const named = [
      ...ofImage.flatMap(([, s]) => [s.command?.[0], s.entrypoint?.[0], s.healthcheck?.test?.[1]]),
      ...[...instruction("CMD"), ...instruction("HEALTHCHECK")].map((rest) => /\["([^"]+)"/.exec(rest)?.[1]),
    ].filter((name) => name !== undefined);
    expect(new Set(named)).toEqual(new Set(["worksteal-coordinator", "worksteal-healthcheck", "worksteal-demo-agent", "worksteal-demo-load"]));
    for (const name of [...named, "worksteal"]) {
      const path = join(layout, "bin", name);
      expect(realpathSync(path).startsWith(realpathSync(layout))).toBe(true);
      expect(spawnSync("test", ["-x", path]).status, `${name} executable`).toBe(0);
    }
  });

  it("worksteal --help and worksteal-coordinator --version", async () => {
    const help = run("worksteal", ["--help"]);
    expect(await help.exited).toEqual({ code: 0, signal: null });
    expect(help.stdout()).toMatch(/^Usage: worksteal/);
    const version = run("worksteal-coordinator", ["--version"]);
    expect(await version.exited).toEqual({ code: 0, signal: null });
    expect(version.stdout()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it(
    "a coordinator on 0.0.0.0 turns healthy, runs the demo load on a demo agent, shows in `worksteal status --json`, and stops on SIGTERM",
    async () => {
      const fleet = { REDIS_URL: inject("redisUrl"), WORKSTEAL_NAMESPACE: testNamespace("docker"), WORKSTEAL_LOG_LEVEL: "warn" };
      const http = { WORKSTEAL_HTTP_HOST: "0.0.0.0", WORKSTEAL_HTTP_PORT: String(await freePort()) };
      const healthcheck = () => run("worksteal-healthcheck", [], http).exited;

      const coordinator = run("worksteal-coordinator", [], { ...fleet, ...http, WORKSTEAL_REPLICA_ID: "coordinator-1" });
      const health = await whileRunning(coordinator, async () => {
        const response = await fetch(`http://127.0.0.1:${http.WORKSTEAL_HTTP_PORT}/healthz`);
        expect(response.status).toBe(200);
        return response.json();
      });
      expect(health).toMatchObject({ replica: "coordinator-1", redis: "ready" });
      expect(await healthcheck()).toEqual({ code: 0, signal: null });

      const agent = run("worksteal-demo-agent", [], { ...fleet, DEMO_AGENT_ID: "agent-1", DEMO_CONCURRENCY: "2" });
      const store = new Store(redis, fleet.WORKSTEAL_NAMESPACE);
      await whileRunning(agent, async () => expect((await readStatus(store, 15_000)).agentCounts.alive).toBe(1));
      const load = run("worksteal-demo-load", [], { ...fleet, DEMO_HOT_AGENT: "agent-1", DEMO_TOTAL: "5", DEMO_BATCH: "5", DEMO_TASK_MS: "10" });
      expect(await load.exited, load.stderr()).toEqual({ code: 0, signal: null });
      await whileRunning(agent, async () => expect((await readStatus(store, 15_000)).tasks).toMatchObject({ done: 5, failed: 0 }));

      const status = run("worksteal", ["status", "--json"], fleet);
      expect(await status.exited, status.stderr()).toEqual({ code: 0, signal: null });
      expect(JSON.parse(status.stdout())).toMatchObject({
        namespace: fleet.WORKSTEAL_NAMESPACE,
        replicas: [expect.objectContaining({ id: "coordinator-1" })],
        tasks: { done: 5 },
      });

      agent.kill("SIGTERM");
      coordinator.kill("SIGTERM");
      expect(await agent.exited, agent.stderr()).toEqual({ code: 0, signal: null });
      expect(await coordinator.exited, coordinator.stderr()).toEqual({ code: 0, signal: null });
      // Nothing listens any more: unhealthy.
      expect(await healthcheck()).toEqual({ code: 1, signal: null });
    },
    3 * SLOW_MS,
  );

  it("the health check fails when WORKSTEAL_HTTP_PORT is unset: the coordinator then serves no /healthz", async () => {
    const check = run("worksteal-healthcheck", [], {});
    expect(await check.exited).toEqual({ code: 1, signal: null });
    expect(check.stderr()).toMatch(/^worksteal-healthcheck: WORKSTEAL_HTTP_PORT is not set/);
  });
});
