#!/usr/bin/env bash
# Entry point of the npm scripts: `npm test`, `npm run demo`, `npm run testenv -- up`, `npm run bench`,
# `npm run faults` (fault suite, full N: `npm run faults -- --runs 5 [vitest filters]` or HC_FAULTS_N=5).
# On a fresh machine the first run installs what is missing (system packages, Node 24 + pnpm, the
# workspace, the Go-built binaries) before anything else starts; later runs find it all cached.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-}"; shift || true
[ "$cmd" = testenv ] && export HYBRIDCLOUD_BUILD="${HYBRIDCLOUD_BUILD:-packages/testenv}"

# A cold start measured in a fresh clone with empty caches (scripts/test-cold.sh).
if [ "$cmd" = test:cold ]; then exec bash "$here/test-cold.sh" "$@"; fi
# System packages (PostgreSQL, Python venv for moto, Go); quiet and quick when present.
case "$cmd" in test|demo|bench|testenv|faults) bash "$here/install-system-deps.sh" ;; esac
source "$here/toolchain.sh"
# etcd, kube-apiserver, kube-controller-manager, kubectl, helm built (with a progress line each),
# PostgreSQL and moto found: before the first test or demo step, so no hook waits on a build.
case "$cmd" in test|demo|bench|faults) node packages/testenv/dist/cli.js prepare ;; esac

case "$cmd" in
  # The conformance kit's crash check runs a seeded sample of 1 crash point per backend here (the
  # day's sample, printed); `npm run faults` runs every crash point.
  test)    export HC_TESTKIT_CRASH_POINTS="${HC_TESTKIT_CRASH_POINTS:-1}"
           exec pnpm run -s test:all "$@" ;;
  demo)    exec node packages/testenv/dist/demo.js "$@" ;;
  testenv) exec node packages/testenv/dist/cli.js "$@" ;;
  bench)   exec pnpm run -s bench:all "$@" ;;
  faults)
    if [ "${1:-}" = --runs ]; then export HC_FAULTS_N="$2"; shift 2; fi
    export HC_FAULTS_N="${HC_FAULTS_N:-20}" HC_TESTKIT_CRASH_POINTS="${HC_TESTKIT_CRASH_POINTS:-all}"
    exec pnpm exec vitest run --config vitest.faults.config.ts "$@" ;;
  lint)    exec pnpm run -s lint "$@" ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
