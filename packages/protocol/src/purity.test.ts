import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// The README promises that protocol does no I/O: it is the vocabulary every side shares, and
// reading files or the environment belongs to @worksteal/config. This reads protocol's sources
// (tests aside) and names every import and global through which I/O could come in.

const SOURCE_DIR = import.meta.dirname;
const manifest = JSON.parse(readFileSync(join(SOURCE_DIR, "..", "package.json"), "utf8")) as { dependencies?: Record<string, string> };
const DEPENDENCIES = Object.keys(manifest.dependencies ?? {});

const IMPORT = /\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']/g;
/** Globals that reach outside the process's own computation: the process, modules loaded at run time, the network, the module's file. */
const IO_GLOBALS = /\b(?:process\s*[.[]|require\s*\(|fetch\s*\(|import\.meta\b)/g;

/** Each way `text` could do I/O: an import of anything but a sibling file or a declared dependency, or an I/O global. */
function ioIn(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? match[3] ?? "";
    if (!specifier.startsWith("./") && !DEPENDENCIES.includes(specifier)) found.push(`import "${specifier}"`);
  }
  for (const match of text.matchAll(IO_GLOBALS)) found.push(match[0]);
  return found;
}

function sourceFiles(): string[] {
  return readdirSync(SOURCE_DIR, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"));
}

describe("protocol does no I/O", () => {
  it("depends on zod alone", () => {
    expect(DEPENDENCIES).toEqual(["zod"]);
  });

  it("imports nothing but its own files and zod, and uses no process, require, fetch or import.meta", () => {
    const files = sourceFiles();
    expect(files).toContain("config.ts");
    const offences = files.flatMap((file) => ioIn(readFileSync(join(SOURCE_DIR, file), "utf8")).map((what) => `${file}: ${what}`));
    expect(offences).toEqual([]);
  });

  it("would name each kind of offence", () => {
    const text = [
      'import { readFileSync } from "node:fs";',
      'import type { Redis } from "ioredis";',
      'import "fs";',
      'const os = await import("node:os");',
      'import { z } from "zod";',
      'import { keysFor } from "./keys.js";',
      "const env = process.env;",
      'const url = process["argv"];',
      'const fs = require("fs");',
      'await fetch("http://x");',
      "const here = import.meta.url;",
    ].join("\n");
    expect(ioIn(text)).toEqual([
      'import "node:fs"',
      'import "ioredis"',
      'import "fs"',
      'import "node:os"',
      "process.",
      "process[",
      "require(",
      "fetch(",
      "import.meta",
    ]);
  });
});
