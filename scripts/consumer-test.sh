#!/usr/bin/env bash
# The consumer test: what a new user gets from npm. Builds, packs every public package under
# packages/ (private ones are skipped), checks each tarball's manifest, then installs all the
# tarballs with npm into a fresh project outside the workspace and uses them from there:
#   - CommonJS: require() of every package (Node >= 20.19 loads ESM through require);
#   - ESM: import of every package, which must export the same names;
#   - TypeScript: tsc resolves every package's types under module nodenext (.mts and .cts),
#     node16 and bundler;
#   - end to end: a coordinator, an agent and a client run a task on a private redis-server, and
#     the installed `worksteal` command reads it back (scripts/consumer-test/end-to-end.mts).
# Needs the npm registry (for the packages' own dependencies) and redis-server on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
workspace=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/worksteal-consumer-XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS

pnpm build >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }

bash scripts/pack-packages.sh "$work/tarballs" >"$work/names"
mapfile -t names <"$work/names"

echo "== consumer test on Node $(node --version): ${#names[@]} public packages packed (${names[*]})"
unpacked=()
for tarball in "$work"/tarballs/*.tgz; do
  dir="$work/unpacked/$(basename "$tarball" .tgz)"
  mkdir -p "$dir" && tar -xzf "$tarball" -C "$dir" --strip-components=1
  unpacked+=("$dir")
done
node --import tsx scripts/consumer-test/check-tarballs.ts "${unpacked[@]}"

# A fresh project outside the workspace, with the workspace's TypeScript and Node types.
app="$work/app"
mkdir -p "$app"
typescript=$(node -p 'require("./package.json").devDependencies.typescript')
types_node=$(node -p 'require("./package.json").devDependencies["@types/node"]')
cd "$app"
echo '{ "name": "worksteal-consumer", "private": true, "type": "module" }' >package.json
npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz "typescript@$typescript" "@types/node@$types_node" >/dev/null
echo "  npm install of the tarballs: ok"

# Files a user would write: one line per package.
for name in "${names[@]}"; do
  echo "console.log(\"  require $name: \" + Object.keys(require(\"$name\")).length + \" exports\");"
done >require.cjs
for name in "${names[@]}"; do
  echo "{ const imported = Object.keys(await import(\"$name\")).sort().join(); const required = Object.keys(require(\"$name\")).sort().join();"
  echo "  if (imported === \"\" || imported !== required) throw new Error(\"$name: import gives [\${imported}], require() [\${required}]\");"
  echo "  console.log(\"  import $name: the same exports as require()\"); }"
done | { echo 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);'; cat; } >import.mjs
index=0
for name in "${names[@]}"; do
  echo "import * as package$index from \"$name\"; export type Package$index = typeof package$index;"
  index=$((index + 1))
done >types.mts
index=0
for name in "${names[@]}"; do
  echo "import package$index = require(\"$name\"); export type Package$index = typeof package$index;"
  index=$((index + 1))
done >types.cts
cp "$workspace/scripts/consumer-test/end-to-end.mts" .

node require.cjs
node import.mjs
tsc=node_modules/.bin/tsc
# No --skipLibCheck: the packages' own .d.ts files are checked too, not only found.
common=(--strict --types node --target es2022)
"$tsc" "${common[@]}" --module nodenext --outDir out types.mts types.cts end-to-end.mts
"$tsc" "${common[@]}" --module node16 --noEmit types.mts end-to-end.mts
"$tsc" "${common[@]}" --module preserve --moduleResolution bundler --noEmit types.mts end-to-end.mts
echo "  tsc: types resolve under module nodenext (.mts and .cts), node16 and bundler"
node out/end-to-end.mjs

echo "== consumer test on Node $(node --version): passed (${#names[@]} packages, $((SECONDS - started)) s)"
