import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { repoRoot } from "@worksteal/testkit";
import { describe, expect, it } from "vitest";
import { setsHeapGrowth } from "./heap-growth.js";

/**
 * What boundHeapGrowth() answers in a node process of its own started with `nodeFlags`: setting
 * the flag in the test's own worker would change the garbage collection of every later test.
 */
async function boundInChild(nodeFlags: readonly string[]): Promise<string> {
  const modulePath = fileURLToPath(new URL("./heap-growth.ts", import.meta.url));
  const code = `const { boundHeapGrowth } = await import(${JSON.stringify(modulePath)}); process.stdout.write(String(boundHeapGrowth()));`;
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, "--import", "tsx", "--input-type=module", "-e", code], { cwd: repoRoot() });
  return stdout;
}

describe("boundHeapGrowth", () => {
  it("sees a heap growing factor set on node's command line, in either spelling, and only that flag", () => {
    expect(setsHeapGrowth(["--heap-growing-percent=60"])).toBe(true);
    expect(setsHeapGrowth(["--enable-source-maps", "--heap_growing_percent=60"])).toBe(true);
    expect(setsHeapGrowth(["--enable-source-maps", "--heap-growing-percentage-of-nothing"])).toBe(false);
  });

  it("sets its own in a process whose command line has none, and reads the process's own command line", async () => {
    expect(await boundInChild(["--enable-source-maps"])).toBe("true");
    expect(await boundInChild(["--heap-growing-percent=60"])).toBe("false");
  });
});
