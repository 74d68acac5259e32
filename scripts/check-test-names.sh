#!/usr/bin/env bash
# Test files are not type-checked by the build (tsconfig.build.json leaves them out, vitest only
# strips types), and ESLint's TypeScript rules do not report undefined names. So a test helper
# that uses a function it never imported passes lint and throws only when that line runs (a
# missing `rmSync` import hung every operator stop of the e2e harness). This runs tsc over all
# sources, tests included (tsconfig.tests.json), and fails on undefined names (TS2304, TS2552).
# The other errors it reports in test files (module resolution from the repository root, loose
# test typings) are not checked yet.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="$(pnpm exec tsc -p tsconfig.tests.json 2>&1 || true)"
if undefined="$(grep -E 'error TS(2304|2552)' <<<"$out")"; then
  echo "undefined names in sources or tests:" >&2
  echo "$undefined" >&2
  exit 1
fi
