import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// The packages are cut as Temporal's TypeScript SDK cuts its own: a service that only submits
// tasks installs the client, not the worker; the facade for the original in-process coordinator
// is a package of its own, over the replica. This walks the source import graph from a package's
// entry point (type-only imports do not load anything and are left out) and checks what it loads.

const PACKAGES = resolve(import.meta.dirname, "..", "packages");

/**
 * What one source file loads: each module specifier with the values it takes from it ("*": the
 * module as a whole, its default or all it exports). Only `import type` and `export type` are
 * erased; under verbatimModuleSyntax `import { type A } from "m"` still loads "m".
 */
function importsOf(text: string): Array<{ from: string; values: string[] }> {
  const found: Array<{ from: string; values: string[] }> = [];
  const statement = /^(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s*["']([^"']+)["']|^import\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/gm;
  for (const [, typeOnly, clause = "", from, bare, dynamic] of text.matchAll(statement)) {
    if (bare ?? dynamic) found.push({ from: (bare ?? dynamic)!, values: ["*"] });
    if (!from || typeOnly) continue;
    const named = (/\{([^}]*)\}/.exec(clause)?.[1] ?? "")
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "" && !name.startsWith("type "))
      .map((name) => name.split(/\s+as\s+/)[0]!);
    const whole = clause
      .replace(/\{[^}]*\}/, "")
      .replace(/,/g, " ")
      .trim();
    found.push({ from, values: whole === "" ? named : ["*", ...named] });
  }
  return found;
}

/** Every workspace package (by name) and every outside module (with the values taken from it) that loading `entry` loads. */
function reach(packageName: string): { workspace: Set<string>; external: Map<string, Set<string>> } {
  const workspace = new Set<string>([packageName]);
  const external = new Map<string, Set<string>>();
  const seen = new Set<string>();
  const pending = [entryOf(packageName)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const { from, values } of importsOf(readFileSync(file, "utf8"))) {
      if (from.startsWith(".")) {
        pending.push(resolve(dirname(file), from.replace(/\.js$/, ".ts")));
      } else if (from.startsWith("@worksteal/")) {
        workspace.add(from);
        pending.push(entryOf(from));
      } else {
        const taken = external.get(from) ?? new Set<string>();
        for (const value of values) taken.add(value);
        external.set(from, taken);
      }
    }
  }
  return { workspace, external };
}

function entryOf(packageName: string): string {
  const entry = join(PACKAGES, packageName.replace("@worksteal/", ""), "src", "index.ts");
  if (!existsSync(entry)) throw new Error(`no sources for ${packageName} at ${entry}`);
  return entry;
}

describe("package boundaries", () => {
  it("reads the imports that load something, and only those", () => {
    const text = [
      'import { type Job, UnrecoverableError, Worker as BullWorker } from "bullmq";',
      'import type { Redis } from "ioredis";',
      'import { pino, type Logger } from "pino";',
      'import EventEmitter, { once } from "node:events";',
      'export * from "./agent.js";',
      'export { type Shape } from "./shape.js";',
      'import "./side-effect.js";',
      'const lazy = await import("./lazy.js");',
    ].join("\n");
    expect(importsOf(text)).toEqual([
      { from: "bullmq", values: ["UnrecoverableError", "Worker"] },
      { from: "pino", values: ["pino"] },
      { from: "node:events", values: ["*", "once"] },
      { from: "./agent.js", values: ["*"] },
      { from: "./shape.js", values: [] },
      { from: "./side-effect.js", values: ["*"] },
      { from: "./lazy.js", values: ["*"] },
    ]);
  });

  it("the agent runs a BullMQ Worker (what the client must not)", () => {
    expect(reach("@worksteal/agent").external.get("bullmq")).toContain("Worker");
  });

  it("a service that only submits tasks loads no worker: the client takes only Queue from bullmq, and neither the agent nor the coordinator", () => {
    const client = reach("@worksteal/client");
    expect([...(client.external.get("bullmq") ?? [])]).toEqual(["Queue"]);
    expect([...client.workspace].sort()).toEqual(["@worksteal/client", "@worksteal/config", "@worksteal/planner", "@worksteal/protocol", "@worksteal/store"]);
  });

  it("the compatibility facade is apart from the replica: the coordinator does not load it", () => {
    expect(reach("@worksteal/coordinator").workspace).not.toContain("@worksteal/compat");
    expect(reach("@worksteal/compat").workspace).toContain("@worksteal/coordinator");
  });
});
