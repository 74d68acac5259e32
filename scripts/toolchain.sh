#!/usr/bin/env bash
# Brings the project's toolchain (Node 24 LTS + pnpm 10) from the npm registry into a cache
# outside the work tree, without touching the machine's Node, then installs and builds the
# workspace. Sourced by every npm script, so a fresh clone needs nothing but bash and npm.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION="24.21.0"
PNPM_VERSION="10.34.8"
CACHE="${HYBRIDCLOUD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hybridcloud-postgresql}"
export HYBRIDCLOUD_CACHE="$CACHE"
TOOLS="$CACHE/toolchain/node-$NODE_VERSION-pnpm-$PNPM_VERSION"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt 24 ]; then
  if [ ! -x "$TOOLS/node_modules/.bin/node" ] || [ ! -x "$TOOLS/node_modules/.bin/pnpm" ]; then
    echo "toolchain: installing node@$NODE_VERSION and pnpm@$PNPM_VERSION into $TOOLS" >&2
    mkdir -p "$TOOLS"
    (cd "$TOOLS" && echo '{"private":true}' > package.json &&
      npm install --no-audit --no-fund --loglevel=error "node@$NODE_VERSION" "pnpm@$PNPM_VERSION" >&2)
  fi
  export PATH="$TOOLS/node_modules/.bin:$PATH"
elif ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version | cut -d. -f1)" != "10" ]; then
  if [ ! -x "$TOOLS/node_modules/.bin/pnpm" ]; then
    mkdir -p "$TOOLS" && (cd "$TOOLS" && echo '{"private":true}' > package.json &&
      npm install --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >&2)
  fi
  export PATH="$TOOLS/node_modules/.bin:$PATH"
fi

cd "$ROOT"
# Install and build once per lockfile/sources change; both are fast no-ops when up to date.
if [ -z "${HYBRIDCLOUD_SKIP_INSTALL:-}" ]; then
  # pnpm keeps a copy of the lockfile it installed; when it equals ours the install is a no-op
  # that still costs many seconds on a busy machine, so skip it.
  if ! cmp -s pnpm-lock.yaml node_modules/.pnpm/lock.yaml; then
    pnpm install --frozen-lockfile --prefer-offline --reporter=silent >&2
  fi
  # `testenv` needs only its own package (and core): a half-finished backend elsewhere must not
  # keep anyone from bringing the environment up or down.
  pnpm exec tsc -b "${HYBRIDCLOUD_BUILD:-tsconfig.build.json}" >&2
fi
