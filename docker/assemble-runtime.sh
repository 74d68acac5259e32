#!/usr/bin/env bash
# Assembles the operator's runtime file layout from a built workspace: what the Dockerfile copies
# to /opt/hybridcloud-postgresql, and what charts/test/image-layout.test.ts runs outside a container.
#
#   docker/assemble-runtime.sh <workspace root (built: packages/*/dist)> <destination>
#
# Layout:
#   <dest>/packages/<pkg>/{package.json,dist,node_modules}  core, shared libraries, every first-party backend
#   <dest>/node_modules/.pnpm/...                           production dependencies only (pnpm install --prod)
#   <dest>/node_modules/@hybridcloud-postgresql/<pkg>       -> packages/<pkg>: backends found next to core without
#                                                             a plugin path; third-party plugins installed under
#                                                             <dest>/plugins resolve this same core
#   <dest>/plugins/                                          mount point for plugins installed at pod start
#   <dest>/bin/hybridcloud-postgresql-operator               the CLI
# Environment knobs: PNPM (pnpm command, default "pnpm"), PNPM_OFFLINE=1 (install from the store only).
set -euo pipefail

src=$(cd "${1:?workspace root}" && pwd)
dest=${2:?destination}
pnpm_cmd=${PNPM:-pnpm}

if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
  echo "assemble-runtime: $dest is not empty" >&2
  exit 1
fi
mkdir -p "$dest/packages" "$dest/plugins" "$dest/bin"
dest=$(cd "$dest" && pwd)

# Test-only workspace packages: their manifests stay (the lockfile names them), their code does not.
# (The testkit's vitest is an optional peer, so a production install does not pull it in.)
test_only=" testenv testkit azure-fake "

cp "$src/package.json" "$src/pnpm-workspace.yaml" "$src/pnpm-lock.yaml" "$dest/"
[ -f "$src/.npmrc" ] && cp "$src/.npmrc" "$dest/"
for dir in "$src"/packages/*/; do
  name=$(basename "$dir")
  [ -f "$dir/package.json" ] || continue
  mkdir -p "$dest/packages/$name"
  cp "$dir/package.json" "$dest/packages/$name/"
  case "$test_only" in *" $name "*) continue ;; esac
  if [ ! -d "$dir/dist" ]; then
    echo "assemble-runtime: $dir has no dist/ (build the workspace first)" >&2
    exit 1
  fi
  # Compiled code only: no tests, no source maps or declarations, no build info.
  (cd "$dir" && find dist -type f -name '*.js' ! -name '*.test.js' ! -path '*/__fixtures__/*' -print0 | xargs -0 -I{} cp --parents {} "$dest/packages/$name/")
  for extra in README.md LICENSE crds; do
    [ -e "$dir/$extra" ] && cp -r "$dir/$extra" "$dest/packages/$name/"
  done
done

# Production dependencies only, exactly the versions of the lockfile.
offline=()
[ "${PNPM_OFFLINE:-0}" = 1 ] && offline=(--offline)
(cd "$dest" && CI=true $pnpm_cmd install --prod --frozen-lockfile --ignore-scripts --config.confirmModulesPurge=false "${offline[@]}" >/dev/null)

for name in $test_only; do rm -rf "${dest:?}/packages/$name"; done

# Core and the backends as installed packages next to core: found without any plugin path, and
# the one core that third-party plugins (installed under plugins/, without their own core) resolve.
mkdir -p "$dest/node_modules/@hybridcloud-postgresql"
for dir in "$dest"/packages/*/; do
  name=$(basename "$dir")
  ln -sfn "../../packages/$name" "$dest/node_modules/@hybridcloud-postgresql/$name"
done

cat > "$dest/bin/hybridcloud-postgresql-operator" <<'SH'
#!/bin/sh
# The operator CLI (run, check-config, crds, backends, --help).
here=$(CDPATH= cd -- "$(dirname -- "$(readlink -f -- "$0")")" && pwd)
exec node "$here/../packages/core/dist/cli.js" "$@"
SH
chmod 0755 "$dest/bin/hybridcloud-postgresql-operator"
echo "assemble-runtime: $dest"
