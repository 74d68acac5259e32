#!/usr/bin/env bash
# Entry point of the npm scripts: `npm test`, `npm run demo`, `npm run testenv -- up`, `npm run bench`.
set -euo pipefail
cmd="${1:-}"; shift || true
[ "$cmd" = testenv ] && export HYBRIDCLOUD_BUILD="${HYBRIDCLOUD_BUILD:-packages/testenv}"
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"

case "$cmd" in
  test)    exec pnpm run -s test:all "$@" ;;
  demo)    exec node packages/testenv/dist/demo.js "$@" ;;
  testenv) exec node packages/testenv/dist/cli.js "$@" ;;
  bench)   exec pnpm run -s bench:all "$@" ;;
  lint)    exec pnpm run -s lint "$@" ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
