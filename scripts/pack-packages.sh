#!/usr/bin/env bash
# Packs every public package (each packages/* whose package.json is not private) into <dir> with
# pnpm pack, which turns workspace:* ranges into the packed versions, and prints the packages'
# names, one a line. Build first (pnpm build): the tarballs hold dist/ as it is.
#   bash scripts/pack-packages.sh <dir>
set -euo pipefail
destination=$(mkdir -p "$1" && cd "$1" && pwd)
cd "$(dirname "$0")/.."
for manifest in packages/*/package.json; do
  if node -e 'process.exit(require(require("node:path").resolve(process.argv[1])).private ? 1 : 0)' "$manifest"; then
    (cd "$(dirname "$manifest")" && pnpm pack --pack-destination "$destination" >/dev/null)
    node -p 'require(require("node:path").resolve(process.argv[1])).name' "$manifest"
  fi
done
