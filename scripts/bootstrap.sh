#!/usr/bin/env bash
# Everything worksteal needs on a fresh Debian machine with Node.js >= 20.19: redis-server (only
# the binary: tests and the demo start their own private servers), pnpm (pinned: corepack is not
# relied on), the dependencies, and the build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

echo "== versions"
uname -a
node --version
npm --version
command -v redis-server >/dev/null && redis-server --version || echo "redis-server: not installed"
command -v pnpm >/dev/null && echo "pnpm $(pnpm --version)" || echo "pnpm: not installed"
echo "REDIS_URL=${REDIS_URL:-<unset: tests start a private redis-server>}"

if ! command -v redis-server >/dev/null; then
  echo "== installing redis-server (Debian package; the service is not started: tests start their own)"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d 101 keeps the package's post-install from starting the system service.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  apt-get update
  apt-get install -y --no-install-recommends redis-server
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  redis-server --version
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "== installing pnpm $PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION"
  hash -r
  pnpm --version
fi

echo "== pnpm install"
pnpm install --frozen-lockfile

echo "== build"
pnpm build

