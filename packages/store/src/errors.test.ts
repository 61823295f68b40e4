import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { WorkstealError } from "@worksteal/protocol";
import { errorForCode, SCRIPT_CODES, StoreError } from "./errors.js";

const LUA_DIR = fileURLToPath(new URL("../lua/", import.meta.url));
const ANSWERS = new Set<number>([
  SCRIPT_CODES.AGENT_HEARD_RECENTLY,
  SCRIPT_CODES.AGENT_HOLDS_TASKS,
  SCRIPT_CODES.AGENT_HAS_JOBS,
  SCRIPT_CODES.NOT_DRAINING,
  SCRIPT_CODES.LEGACY_FOLD_PENDING,
]);

/** Every negative integer a script or include returns: `return -5`, `return {-20, age}`. */
function returnedCodes(): Map<number, string[]> {
  const codes = new Map<number, string[]>();
  const files = [...readdirSync(LUA_DIR).filter((f) => f.endsWith(".lua")), ...readdirSync(`${LUA_DIR}includes`).map((f) => `includes/${f}`)];
  for (const file of files) {
    for (const match of readFileSync(LUA_DIR + file, "utf8").matchAll(/return \{?(-\d+)/g)) {
      const code = Number(match[1]);
      codes.set(code, [...(codes.get(code) ?? []), file]);
    }
  }
  return codes;
}

describe("script codes", () => {
  it("names every negative code a Lua script returns in the one mapping", () => {
    const known = new Set<number>(Object.values(SCRIPT_CODES));
    const codes = returnedCodes();
    expect(codes.size).toBeGreaterThan(10);
    const unnamed = [...codes].filter(([code]) => !known.has(code));
    expect(unnamed).toEqual([]);
  });

  it("turns each refusal into its own typed error, every one a WorkstealError", () => {
    const refusals = Object.values(SCRIPT_CODES).filter((code) => !ANSWERS.has(code));
    const names = refusals.map((code) => {
      const error = errorForCode(code, "x");
      expect(error).toBeInstanceOf(WorkstealError);
      expect(error.code).toBe(code);
      return error.name;
    });
    expect(names).not.toContain("StoreError");
    expect(new Set(names).size).toBe(refusals.length);
    expect(errorForCode(-99, "x")).toBeInstanceOf(StoreError);
    expect(errorForCode(-99, "x").message).toMatch(/unknown code -99/);
    expect(errorForCode(SCRIPT_CODES.NOT_DRAINING, "x").message).toBe("script answered NOT_DRAINING (-14) for x, which is not a refusal");
  });
});
