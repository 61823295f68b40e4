#!/usr/bin/env bash
# Lays out the image's /app from a built workspace (pnpm install && pnpm build): each program is
# a `pnpm deploy --prod` of its package (dist/ and its production dependencies, workspace
# packages copied in, no devDependencies), and bin/ holds a link per command. The Dockerfile runs
# this; tests/docker.test.ts runs it too, then runs those commands as plain processes.
#   bash docker/assemble.sh <dir>     (<dir> must not exist yet)
#
#   <dir>/coordinator   @worksteal/coordinator      bin/worksteal-coordinator
#   <dir>/cli           @worksteal/cli              bin/worksteal
#   <dir>/agent         @worksteal/agent + demo     bin/worksteal-demo-agent
#   <dir>/client        @worksteal/client + demo    bin/worksteal-demo-load
#   docker/healthcheck.mjs                          bin/worksteal-healthcheck
set -euo pipefail
if [ $# -ne 1 ] || [ -e "$1" ]; then
  echo "usage: bash docker/assemble.sh <dir that does not exist yet>" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."

for program in coordinator cli agent client; do
  # --prefer-offline: the packages come from the store `pnpm install` filled; the registry is asked
  # only for metadata a fresh store lacks (--offline fails there with ERR_PNPM_NO_OFFLINE_META).
  pnpm --filter "@worksteal/$program" deploy --prod --prefer-offline "$out/$program" >/dev/null
  # What pnpm leaves to install the deploy again; nothing reads them at run time.
  rm -f "$out/$program/pnpm-lock.yaml" "$out/$program/pnpm-workspace.yaml"
done
# Beside their package's package.json, the demos import it by its own name (a self-reference).
cp docker/demo/agent.mjs "$out/agent/demo-agent.mjs"
cp docker/demo/load.mjs "$out/client/demo-load.mjs"
cp docker/healthcheck.mjs "$out/healthcheck.mjs"

mkdir -p "$out/bin"
link() {
  chmod 755 "$out/$2"
  ln -s "../$2" "$out/bin/$1"
}
link worksteal-coordinator coordinator/dist/main.js
link worksteal cli/dist/bin.js
link worksteal-demo-agent agent/demo-agent.mjs
link worksteal-demo-load client/demo-load.mjs
link worksteal-healthcheck healthcheck.mjs
