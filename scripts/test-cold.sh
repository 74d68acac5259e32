#!/usr/bin/env bash
# `npm run test:cold [-- test|demo|both|twice]`: what a new user meets on a fresh machine, measured.
# A fresh clone of HEAD (commit first: uncommitted changes are not in it) with every cache pointed at
# an empty temporary directory: the project cache (Node 24 + pnpm, moto venv, built binaries), the
# Go build and module caches, the npm, pnpm and pip caches. Then the README's commands, timed.
# Not cold: Debian packages already installed (apt cannot be undone safely) and the machine's Go.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what="${1:-test}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/hybridcloud-cold.XXXXXX")"
cleanup() { chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"; }
[ -z "${KEEP_COLD_DIR:-}" ] && trap cleanup EXIT

export HYBRIDCLOUD_CACHE="$tmp/cache" XDG_CACHE_HOME="$tmp/xdg-cache" XDG_DATA_HOME="$tmp/xdg-data"
export GOCACHE="$tmp/go-build" GOMODCACHE="$tmp/go-mod" GOPATH="$tmp/gopath"
export npm_config_cache="$tmp/npm" PIP_CACHE_DIR="$tmp/pip" PIP_NO_CACHE_DIR=1
unset HYBRIDCLOUD_TESTENV_CONTROLPLANE HYBRIDCLOUD_SKIP_INSTALL
git clone -q "$root" "$tmp/clone"
cd "$tmp/clone"
echo "test:cold: $(git log -1 --format='%h %s') in $tmp/clone, every cache under $tmp" >&2

timed() {
  local name="$1"; shift
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  echo "test:cold: $name took $((SECONDS - t0)) s (exit $rc)" >&2
  return $rc
}
case "$what" in
  test) timed "npm test" npm test ;;
  demo) timed "npm run demo -- --check" npm run demo -- --check ;;
  both) timed "npm run demo -- --check" npm run demo -- --check && timed "npm test (after the demo)" npm test ;;
  # Cold, then warm in the same clone and caches: both numbers from one command.
  twice) timed "npm test (cold)" npm test && timed "npm test (warm)" npm test ;;
  *) echo "usage: npm run test:cold [-- test|demo|both|twice]" >&2; exit 2 ;;
esac
