#!/usr/bin/env bash
# Everything worksteal needs on a fresh Debian machine with Node.js: redis-server (only the binary:
# tests and the demo start their own private servers), pnpm (pinned: corepack is not relied on),
# the dependencies, and the build. Safe to run again.
#
# Supported Node versions: 20.19+, 22.12+ and 24 (recommended: the active LTS; CI runs the whole
# suite on 24 and a smoke on 20). Node 20 is past its end of life and is kept only as long as
# `engines` allows it. An older Node stops here with the commands that fetch a current
# one from npm.
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

# What `engines` allows (^20.19.0 || >=22.12.0): the versions whose require() loads ES modules.
if ! node -e 'const [major, minor] = process.versions.node.split(".").map(Number); process.exit(major >= 23 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19) ? 0 : 1)'; then
  arch=$(node -p 'process.arch')
  cat >&2 <<EOF
worksteal needs Node.js 20.19+, 22.12+ or 24 (recommended); this is $(node --version).
Get Node 24 from npm without root, then run this script again:
  npm install --prefix "\$HOME/.local/node24" node-linux-$arch@24
  export PATH="\$HOME/.local/node24/node_modules/node-linux-$arch/bin:\$PATH"
(or install it from https://nodejs.org, NodeSource's Debian packages, or a version manager such as nvm)
EOF
  exit 1
fi

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

# Chromium, for the dashboard's browser test (tests/dashboard.browser.test.ts drives it with
# playwright-core; Playwright's own browser download cannot work here). Debian's package, only
# when missing: it needs root for apt-get, like redis-server above.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" != 0 ]; then
  # Without root there is no apt: the browser test skips outside CI and says why.
  echo "== chromium is missing: as root, apt-get install -y chromium fonts-liberation (the dashboard's browser test needs it)"
elif [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian package, for the dashboard's browser test)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  # Fonts: a recommendation of the package, and without any the pages render without text.
  apt-get install -y --no-install-recommends chromium fonts-liberation
  dpkg-query -W chromium
fi
