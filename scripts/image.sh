#!/usr/bin/env bash
# npm run image: builds the operator image from the Dockerfile as it is, on a machine without a
# Docker engine and without an image registry, then runs it.
#
#   scripts/image.sh [--no-run] [--rebuild-base]
#
# 1. installs buildah, podman, runc and mmdebstrap from the machine's Debian sources when missing;
# 2. assembles the base images the Dockerfile's ARGs name and tags them with those names (cached:
#    rebuilt only when their recipe changes, or with --rebuild-base):
#      debian:bookworm-slim      mmdebstrap (minbase) from the machine's Debian package sources
#      golang:<v>-bookworm       + Go from the Go module proxy (module golang.org/toolchain)
#      node:<v>-bookworm-slim    + Node (npm package node-linux-<arch>) and npm from the npm registry
# 3. builds the Dockerfile with `buildah bud`, the charts stage fed from docker/charts
#    (CHARTS_SOURCE=local: the helm backends' test fixtures, or IMAGE_CHARTS_DIR), the npm and Go
#    dependencies fetched from their registries;
# 4. runs the image with podman (unless --no-run): `backends`, `config check`, helm inside the
#    image, and `run` against a testenv control plane until the external-backend example
#    (examples/local.yaml) gives a working login, as uid 10001 on a read-only root filesystem;
# 5. prints the build time and the image size.
#
# Environment: IMAGE (tag, default localhost/hybrid-cloud-postgresql-operator:dev), IMAGE_CHARTS_DIR
# (a directory with postgresql/ and yugabyte/ chart directories), IMAGE_CONTEXT (worktree: the
# work tree as it is, the default, like `docker build .`; head or any git revision: that commit
# only, through `git archive`, for a checkout others are editing), HYBRIDCLOUD_CACHE. Needs root
# (rootful buildah/podman, mmdebstrap in root mode) and host networking.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${HYBRIDCLOUD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hybridcloud-postgresql}"
CACHE="$CACHE_ROOT/image"
IMAGE="${IMAGE:-localhost/hybrid-cloud-postgresql-operator:dev}"
RECIPE_LABEL=org.hybridcloud-postgresql.base-recipe
RUN_CHECKS=1
REBUILD_BASE=0
for a in "$@"; do
  case "$a" in
    --no-run) RUN_CHECKS=0 ;;
    --rebuild-base) REBUILD_BASE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "image: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "image: $*" >&2; }
die() { echo "image: ERROR: $*" >&2; exit 1; }
secs() { echo $(( $(date +%s) - $1 )); }
T0=$(date +%s)

[ "$(id -u)" -eq 0 ] || die "needs root (rootful buildah/podman, mmdebstrap --mode=root): run it with sudo"
mkdir -p "$CACHE"

# --- 1. tools ------------------------------------------------------------------------------------
need=()
for t in buildah podman runc mmdebstrap; do command -v "$t" >/dev/null 2>&1 || need+=("$t"); done
command -v newuidmap >/dev/null 2>&1 || need+=(uidmap)
command -v fuse-overlayfs >/dev/null 2>&1 || need+=(fuse-overlayfs)
if [ ${#need[@]} -gt 0 ]; then
  say "apt-get install ${need[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
command -v npm >/dev/null 2>&1 || die "npm is needed (to fetch Node and npm for the node base image)"

# Engine settings for this machine, in a file of our own (CONTAINERS_CONF): containers get the
# resource limits this process may hand on (podman's default nofile=1048576 fails here: no
# CAP_SYS_RESOURCE), and runc as the OCI runtime, since Debian's crun refuses hybrid cgroups.
hard_nofile=$(ulimit -Hn); [ "$hard_nofile" = unlimited ] && hard_nofile=1048576
hard_nproc=$(ulimit -Hu); { [ "$hard_nproc" = unlimited ] || [ "$hard_nproc" -gt 32768 ]; } && hard_nproc=32768
export CONTAINERS_CONF="$CACHE/containers.conf"
cat > "$CONTAINERS_CONF" <<EOF
# Written by scripts/image.sh for this machine.
[containers]
default_ulimits = ["nofile=$hard_nofile:$hard_nofile", "nproc=$hard_nproc:$hard_nproc"]
[engine]
runtime = "runc"
EOF
BUD=(buildah bud --pull=never --network host --layers)

# --- 2. base images --------------------------------------------------------------------------------
dockerfile_arg() { sed -n "s/^ARG $1=//p" "$ROOT/Dockerfile" | head -1; }
qualify() { case "$1" in */*) echo "$1" ;; *) echo "docker.io/library/$1" ;; esac; }
NODE_IMAGE=$(qualify "$(dockerfile_arg NODE_IMAGE)")
GO_IMAGE=$(qualify "$(dockerfile_arg GO_IMAGE)")
DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim
NODE_VERSION=${NODE_IMAGE##*:}; NODE_VERSION=${NODE_VERSION%%-*}
GO_VERSION=${GO_IMAGE##*:}; GO_VERSION=${GO_VERSION%%-*}
case "$GO_IMAGE$NODE_IMAGE" in *bookworm*bookworm*) ;; *) die "the Dockerfile's GO_IMAGE/NODE_IMAGE are not bookworm images ($GO_IMAGE, $NODE_IMAGE)" ;; esac
case "$(uname -m)" in x86_64) goarch=amd64 nodearch=x64 ;; aarch64|arm64) goarch=arm64 nodearch=arm64 ;; *) die "unsupported machine $(uname -m)" ;; esac

recipe_of() { podman image inspect --format "{{index .Labels \"$RECIPE_LABEL\"}}" "$1" 2>/dev/null || true; }
up_to_date() { [ "$REBUILD_BASE" = 0 ] && [ "$(recipe_of "$1")" = "$2" ]; }
hash_of() { grep -v '^[[:space:]]*#' | sha256sum | cut -c1-16; }   # comments do not change a recipe

# Debian bookworm root from the machine's Debian sources (deb822 or one-line lists naming bookworm).
debian_sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && grep -qE '^[^#]*\bbookworm\b' "$f" && grep -qiE '^[^#]*debian' "$f" && debian_sources+=("$f")
done
[ ${#debian_sources[@]} -gt 0 ] || debian_sources=(http://deb.debian.org/debian)
# merged-usr hook: /usr merged as Debian's images have it, without the usrmerge package (and perl).
MMDEBSTRAP_OPTS=(--variant=minbase --mode=root --format=tar --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --aptopt='APT::Install-Recommends "false"')
debian_recipe=$( { printf '%s\n' "${MMDEBSTRAP_OPTS[@]}"; for s in "${debian_sources[@]}"; do cat "$s" 2>/dev/null || echo "$s"; done; } | hash_of)
if up_to_date "$DEBIAN_IMAGE" "$debian_recipe"; then
  say "$DEBIAN_IMAGE: cached"
else
  t=$(date +%s); say "$DEBIAN_IMAGE: mmdebstrap bookworm from ${debian_sources[*]} …"
  tar="$CACHE/debian-bookworm.tar"
  mmdebstrap "${MMDEBSTRAP_OPTS[@]}" bookworm "$tar" "${debian_sources[@]}" > "$CACHE/mmdebstrap.log" 2>&1 \
    || { tail -20 "$CACHE/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $CACHE/mmdebstrap.log)"; }
  podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["bash"]' \
    --change "LABEL $RECIPE_LABEL=$debian_recipe" --quiet "$tar" "$DEBIAN_IMAGE" >/dev/null
  rm -f "$tar"
  say "$DEBIAN_IMAGE: built in $(secs "$t") s"
fi
debian_id=$(podman image inspect --format '{{.Id}}' "$DEBIAN_IMAGE")
# Can this machine run containers at all (namespaces, overlay, runtime)? Say so plainly if not.
if ! out=$(podman run --rm --network host "$DEBIAN_IMAGE" true 2>&1); then
  die "this machine cannot run containers: \`CONTAINERS_CONF=$CONTAINERS_CONF podman run --rm --network host $DEBIAN_IMAGE true\` says: $out"
fi

# golang: Go from the Go module proxy, verified against the checksum database when a Go is at hand.
go_mod="v0.0.1-go$GO_VERSION.linux-$goarch"
go_recipe=$( { echo "$debian_id $go_mod"; cat "$ROOT/docker/base/golang.Containerfile"; } | hash_of)
if up_to_date "$GO_IMAGE" "$go_recipe"; then
  say "$GO_IMAGE: cached"
else
  t=$(date +%s); ctx="$CACHE/golang-$GO_VERSION"
  if [ ! -x "$ctx/go/bin/go" ]; then
    rm -rf "$ctx" && mkdir -p "$ctx"
    say "$GO_IMAGE: Go $GO_VERSION from the Go module proxy (golang.org/toolchain@$go_mod) …"
    if command -v go >/dev/null 2>&1; then
      dir=$(cd "$ctx" && GOFLAGS=-modcacherw GOMODCACHE="$CACHE/gomodcache" GOTOOLCHAIN=local go mod download -json "golang.org/toolchain@$go_mod" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
      [ -d "$dir" ] || die "go mod download golang.org/toolchain@$go_mod gave no directory"
      cp -a "$dir" "$ctx/go"
      rm -rf "$CACHE/gomodcache"
    else
      proxy="${GOPROXY:-https://proxy.golang.org}"; proxy="${proxy%%,*}"
      { [ "$proxy" = direct ] || [ "$proxy" = off ]; } && proxy=https://proxy.golang.org
      curl -fsSL --retry 3 -o "$ctx/go.zip" "$proxy/golang.org/toolchain/@v/$go_mod.zip"
      (cd "$ctx" && python3 -m zipfile -e go.zip x && mv "x/golang.org/toolchain@$go_mod" go && rm -rf x go.zip)
    fi
    # As the go command does for a toolchain it downloads: module zips carry no execute bits.
    chmod 0755 "$ctx/go/bin/"* "$ctx/go/pkg/tool/"*/*
  fi
  "${BUD[@]}" --quiet -f "$ROOT/docker/base/golang.Containerfile" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
    --build-arg "GO_VERSION=$GO_VERSION" --label "$RECIPE_LABEL=$go_recipe" -t "$GO_IMAGE" "$ctx" > "$CACHE/base-golang.log" 2>&1 \
    || { tail -20 "$CACHE/base-golang.log" >&2; die "building $GO_IMAGE failed (log: $CACHE/base-golang.log)"; }
  say "$GO_IMAGE: built in $(secs "$t") s"
fi

# node: the Node binary as the `node` npm package installs it (node-linux-<arch>), and the npm that
# this Node release bundles (the newest "upgrade npm to" of its changelog), both from the npm registry.
node_recipe=$( { echo "$debian_id node-linux-$nodearch@$NODE_VERSION"; cat "$ROOT/docker/base/node.Containerfile"; } | hash_of)
if up_to_date "$NODE_IMAGE" "$node_recipe"; then
  say "$NODE_IMAGE: cached"
else
  t=$(date +%s); ctx="$CACHE/node-$NODE_VERSION"
  if [ ! -x "$ctx/node/bin/node" ] || [ ! -f "$ctx/npm/package.json" ]; then
    rm -rf "$ctx" && mkdir -p "$ctx/dl"
    say "$NODE_IMAGE: node-linux-$nodearch@$NODE_VERSION from the npm registry …"
    (cd "$ctx/dl" && npm pack --silent "node-linux-$nodearch@$NODE_VERSION" >/dev/null)
    tar -xzf "$ctx/dl/node-linux-$nodearch-$NODE_VERSION.tgz" -C "$ctx/dl"
    mkdir -p "$ctx/node" && mv "$ctx/dl/package/bin" "$ctx/dl/package/include" "$ctx/dl/package/share" "$ctx/node/"
    npm_version=$(sed -n "/<a id=\"$NODE_VERSION\"><\/a>/,\$p" "$ctx/dl/package/CHANGELOG.md" | sed -n 's/.*upgrade npm to \([0-9][0-9.]*[0-9]\).*/\1/p' | head -1)
    [ -n "$npm_version" ] || die "could not tell which npm Node $NODE_VERSION bundles (no 'upgrade npm to' in its CHANGELOG)"
    say "$NODE_IMAGE: npm@$npm_version (bundled with Node $NODE_VERSION) from the npm registry …"
    (cd "$ctx/dl" && npm pack --silent "npm@$npm_version" >/dev/null)
    rm -rf "$ctx/dl/package" && tar -xzf "$ctx/dl/npm-$npm_version.tgz" -C "$ctx/dl" && mv "$ctx/dl/package" "$ctx/npm"
    rm -rf "$ctx/dl"
  fi
  "${BUD[@]}" --quiet -f "$ROOT/docker/base/node.Containerfile" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
    --build-arg "NODE_VERSION=$NODE_VERSION" --label "$RECIPE_LABEL=$node_recipe" -t "$NODE_IMAGE" "$ctx" > "$CACHE/base-node.log" 2>&1 \
    || { tail -20 "$CACHE/base-node.log" >&2; die "building $NODE_IMAGE failed (log: $CACHE/base-node.log)"; }
  say "$NODE_IMAGE: built in $(secs "$t") s"
fi
BASE_SECS=$(secs "$T0")

# --- 3. the image ------------------------------------------------------------------------------------
# The build context: the work tree, or the last commit.
case "${IMAGE_CONTEXT:-worktree}" in
  worktree) context="$ROOT" ;;
  *)
    rev="${IMAGE_CONTEXT/#head/HEAD}"
    commit=$(git -C "$ROOT" rev-parse --verify --quiet "$rev^{commit}") || die "IMAGE_CONTEXT must be worktree, head or a git revision, not '$IMAGE_CONTEXT'"
    context="$CACHE/context"
    rm -rf "$context" && mkdir -p "$context"
    git -C "$ROOT" archive "$commit" | tar -x -C "$context"
    say "context: ${commit:0:7} (git archive $rev)" ;;
esac
# Charts for the offline charts stage (docker/charts in the context).
charts_src="${IMAGE_CHARTS_DIR:-}"
for chart in postgresql yugabyte; do
  rm -rf "${context:?}/docker/charts/$chart"
  if [ -n "$charts_src" ]; then
    [ -f "$charts_src/$chart/Chart.yaml" ] || die "IMAGE_CHARTS_DIR=$charts_src has no $chart/Chart.yaml"
    cp -R "$charts_src/$chart" "$context/docker/charts/$chart"
  else
    case "$chart" in postgresql) from=packages/backend-helm-bitnami/test-charts/postgresql ;; yugabyte) from=packages/backend-helm-yugabyte/test-charts/yugabyte ;; esac
    cp -R "$context/$from" "$context/docker/charts/$chart"
  fi
done
[ -n "$charts_src" ] || say "charts: the helm backends' test fixtures (docker/charts), not the upstream charts (set IMAGE_CHARTS_DIR for those)"

# The machine's trust store and npm registry, as the Dockerfile's optional build secrets `ca` and
# `npmrc` (mounted for the RUN steps that fetch, kept by no layer): where TLS goes through a proxy
# of the site, its CA is only in the host's bundle.
build_secrets=()
host_ca=/etc/ssl/certs/ca-certificates.crt
if [ -f "$host_ca" ]; then
  printf 'registry=%s\ncafile=%s\nupdate-notifier=false\nfund=false\naudit=false\n' "$(npm config get registry)" "$host_ca" > "$CACHE/npmrc"
  build_secrets=(--secret "id=npmrc,src=$CACHE/npmrc" --secret "id=ca,src=$host_ca")
fi

say "building $IMAGE from $context/Dockerfile (buildah bud, CHARTS_SOURCE=local) …"
t=$(date +%s)
"${BUD[@]}" --build-arg CHARTS_SOURCE=local "${build_secrets[@]}" -f "$context/Dockerfile" -t "$IMAGE" "$context" > "$CACHE/build.log" 2>&1 \
  || { tail -40 "$CACHE/build.log" >&2; die "buildah bud failed (full log: $CACHE/build.log)"; }
BUILD_SECS=$(secs "$t")
SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
say "built $IMAGE in $BUILD_SECS s (base images $BASE_SECS s), $(( SIZE / 1000000 )) MB ($SIZE bytes)"

# --- 4. run it ---------------------------------------------------------------------------------------
if [ "$RUN_CHECKS" = 1 ]; then
  bash "$ROOT/docker/check-image.sh" "$IMAGE"
fi

say "summary: base images $BASE_SECS s, image build $BUILD_SECS s, image size $(( SIZE / 1000000 )) MB, total $(secs "$T0") s"
