/**
 * Checks the manifest and contents of every packed tarball, as npm will publish them: no
 * `workspace:` range left (pnpm pack must have replaced them), a LICENSE, an exports map whose
 * entry has types and a "default" condition (so require() finds it on Node >= 20.19, not only
 * import), public access, a repository directory and the engines the workspace promises.
 *
 *   node --import tsx scripts/consumer-test/check-tarballs.ts <unpacked package dir>...
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const DEPENDENCY_FIELDS = ["dependencies", "peerDependencies", "optionalDependencies"] as const;

const ManifestSchema = z.object({
  name: z.string(),
  version: z.string(),
  license: z.literal("MIT"),
  repository: z.object({ url: z.string(), directory: z.string() }),
  engines: z.object({ node: z.string() }),
  publishConfig: z.object({ access: z.literal("public") }),
  exports: z.object({ ".": z.object({ types: z.string(), default: z.string() }) }),
  files: z.array(z.string()),
  dependencies: z.record(z.string(), z.string()).optional(),
  peerDependencies: z.record(z.string(), z.string()).optional(),
  optionalDependencies: z.record(z.string(), z.string()).optional(),
});

const WorkspaceSchema = z.object({ engines: z.object({ node: z.string() }) });

function problemsOf(dir: string, workspaceEngines: string): { name: string; problems: string[] } {
  const raw: unknown = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) return { name: dir, problems: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) };
  const manifest = parsed.data;
  const problems: string[] = [];
  for (const field of DEPENDENCY_FIELDS) {
    for (const [dependency, range] of Object.entries(manifest[field] ?? {})) {
      if (range.startsWith("workspace:")) problems.push(`${field}.${dependency} is still ${range}`);
    }
  }
  if (manifest.engines.node !== workspaceEngines) problems.push(`engines.node is ${manifest.engines.node}, the workspace says ${workspaceEngines}`);
  for (const file of ["LICENSE", manifest.exports["."].types, manifest.exports["."].default]) {
    if (!existsSync(join(dir, file))) problems.push(`${file} is not in the tarball`);
  }
  return { name: `${manifest.name}@${manifest.version}`, problems };
}

function main(): void {
  const workspaceEngines = WorkspaceSchema.parse(JSON.parse(readFileSync("package.json", "utf8"))).engines.node;
  let failed = false;
  for (const dir of process.argv.slice(2)) {
    const { name, problems } = problemsOf(dir, workspaceEngines);
    failed ||= problems.length > 0;
    console.log(`  manifest ${name}: ${problems.length === 0 ? "ok" : `FAIL ${problems.join("; ")}`}`);
  }
  if (failed) process.exit(1);
}

main();
