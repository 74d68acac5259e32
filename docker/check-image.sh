#!/usr/bin/env bash
# Runs a built operator image with podman the way the chart runs it (the image's own user 10001, a
# read-only root filesystem, an empty /tmp, the config mounted read-only), on the host network:
#
#   docker/check-image.sh <image>        (scripts/image.sh calls it after the build)
#
#   1. the image runs as uid 10001, no build secret's mount point is left in it, and `backends` lists
#      the seven first-party backends;
#   2. `config check` accepts the chart's default config (charts baked into the image) and the
#      external-backend config of step 4;
#   3. helm inside the image: `helm version` names the pinned version, and `helm template` of the
#      operator chart passes without --kube-version (helm assumes the Kubernetes of its client-go);
#   4. `run` against a testenv control plane (`npm run testenv -- up`, in a directory of its own):
#      CRDs from the image's `crds` command, examples/local.yaml applied, and the database's
#      credentials Secret must give a working psql login; then the example is deleted again.
# Environment: CHECK_TIMEOUT (seconds to wait for the login, default 120), CHECK_KEEP_TESTENV=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${1:?usage: docker/check-image.sh <image>}"
CACHE="${HYBRIDCLOUD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hybridcloud-postgresql}/image"
# scripts/image.sh exports CONTAINERS_CONF (limits and runtime for this machine); alone, reuse its file.
[ -z "${CONTAINERS_CONF:-}" ] && [ -f "$CACHE/containers.conf" ] && export CONTAINERS_CONF="$CACHE/containers.conf"
say() { echo "check-image: $*" >&2; }
die() { echo "check-image: FAILED: $*" >&2; exit 1; }
# As the chart's Deployment: image user, read-only root, emptyDir /tmp.
RUN=(podman run --rm --network host --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,size=64m)

work=$(mktemp -d)
cid=""
testenv_dir="$CACHE/testenv"
started_testenv=0
cleanup() {
  [ -n "$cid" ] && podman rm -f -t 5 "$cid" >/dev/null 2>&1 || true
  if [ "$started_testenv" = 1 ] && [ "${CHECK_KEEP_TESTENV:-0}" != 1 ]; then
    (cd "$ROOT" && TESTENV_DIR="$testenv_dir" npm run -s testenv -- down >/dev/null 2>&1) || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
chmod 0755 "$work"

# --- 1 ---------------------------------------------------------------------------------------------
uid=$("${RUN[@]}" --entrypoint id "$IMAGE" -u)
[ "$uid" = 10001 ] || die "the image runs as uid $uid, not 10001"
backends=$("${RUN[@]}" "$IMAGE" backends 2>/dev/null)
for id in awsaurora awsrds azurepostgres azurepostgresflexible external helmbitnami helmyugabyte; do
  grep -qE "^$id " <<<"$backends" || { echo "$backends" >&2; die "backends does not list $id"; }
done
left=$("${RUN[@]}" --user 0 --entrypoint sh "$IMAGE" -c 'ls -d /root/.npmrc /etc/ssl/certs/ca-certificates.crt 2>/dev/null || true')
[ -z "$left" ] || die "build secrets' mount points left in the image: $left"
say "1. runs as uid $uid; backends lists all seven: $(awk 'NR>1 {printf "%s ", $1}' <<<"$backends")"

# --- 2 ---------------------------------------------------------------------------------------------
mkdir -p "$work/chart-config"
sed -n '/^operatorConfig: |/,/^[^ #]/{/^operatorConfig/d; /^[^ ]/d; s/^  //; p}' \
  "$ROOT/charts/hybrid-cloud-postgresql-operator/values.yaml" > "$work/chart-config/config.yaml"
chmod -R a+rX "$work/chart-config"
"${RUN[@]}" -v "$work/chart-config:/operator-config:ro" -e OPERATOR_CONFIG=/operator-config/config.yaml \
  "$IMAGE" config check > "$work/check.out" 2>&1 || { cat "$work/check.out" >&2; die "config check of the chart's default config"; }
say "2. config check: the chart's default config (backend helmbitnami, baked charts) is valid"

# --- 3 ---------------------------------------------------------------------------------------------
helm_version=$("${RUN[@]}" --entrypoint helm "$IMAGE" version)
pinned=$(sed -n 's/^ARG HELM_VERSION=//p' "$ROOT/Dockerfile")
grep -q "Version:\"$pinned\"" <<<"$helm_version" || die "helm version in the image: $helm_version (expected $pinned)"
"${RUN[@]}" --entrypoint helm -v "$ROOT/charts/hybrid-cloud-postgresql-operator:/chart:ro" "$IMAGE" \
  template hco /chart > "$work/template.out" 2>&1 || { tail -5 "$work/template.out" >&2; die "helm template of the operator chart without --kube-version"; }
"${RUN[@]}" --entrypoint helm "$IMAGE" show chart /opt/hybridcloud-postgresql/charts/postgresql > /dev/null \
  || die "the baked postgresql chart is not readable by helm"
say "3. helm: $helm_version; helm template of the operator chart without --kube-version: $(grep -c '^kind:' "$work/template.out") objects"

# --- 4 ---------------------------------------------------------------------------------------------
say "4. starting a testenv control plane (TESTENV_DIR=$testenv_dir) …"
mkdir -p "$testenv_dir"
started_testenv=1
(cd "$ROOT" && TESTENV_DIR="$testenv_dir" npm run -s testenv -- up > "$work/testenv.out" 2> "$work/testenv.err") \
  || { tail -30 "$work/testenv.err" >&2; die "npm run testenv -- up"; }
# shellcheck disable=SC1091
source "$testenv_dir/env"   # KUBECONFIG, PG*, PATH with kubectl/psql
# The image's user reads the kubeconfig and config; a copy in our temp dir, readable by it.
mkdir -p "$work/run"
health_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cp "$KUBECONFIG" "$work/run/kubeconfig"
cat > "$work/run/config.yaml" <<EOF
backend: external
backends:
  external:
    host: $PGHOST
    port: $PGPORT
    sslmode: disable
    admin_username: $PGUSER
    admin_password_env: ADMIN_POSTGRES_PASSWORD
operator:
  namespace: default
  resync_seconds: 60
  health_port: $health_port
EOF
chmod -R a+rX "$work/run"
"${RUN[@]}" -v "$work/run:/operator-config:ro" -e OPERATOR_CONFIG=/operator-config/config.yaml -e ADMIN_POSTGRES_PASSWORD="$PGPASSWORD" \
  "$IMAGE" config check > "$work/check.out" 2>&1 || { cat "$work/check.out" >&2; die "config check of the external-backend config"; }
"${RUN[@]}" "$IMAGE" crds > "$work/crds.yaml" || die "crds"
kubectl apply -f "$work/crds.yaml" >/dev/null
kubectl wait --for condition=established --timeout=60s crd --all >/dev/null
cid=$(podman run -d --network host --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,size=64m \
  -v "$work/run:/operator-config:ro" -e OPERATOR_CONFIG=/operator-config/config.yaml -e KUBECONFIG=/operator-config/kubeconfig \
  -e ADMIN_POSTGRES_PASSWORD="$PGPASSWORD" "$IMAGE" run)
t0=$(date +%s)
kubectl apply -f "$ROOT/examples/local.yaml" >/dev/null
secret=demoservice-postgres-credentials
deadline=$(( t0 + ${CHECK_TIMEOUT:-120} ))
login=""
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ "$(podman inspect --format '{{.State.Running}}' "$cid" 2>/dev/null)" != true ]; then
    podman logs --tail 30 "$cid" >&2 || true
    die "the operator container stopped"
  fi
  if uri=$(kubectl get secret "$secret" -n default -o jsonpath='{.data.uri}' 2>/dev/null) && [ -n "$uri" ]; then
    user=$(kubectl get secret "$secret" -n default -o jsonpath='{.data.username}' | base64 -d)
    if login=$(psql "$(base64 -d <<<"$uri")" -Atc 'select current_user' 2>/dev/null) && [ "$login" = "$user" ]; then break; fi
  fi
  login=""
  sleep 1
done
if [ -z "$login" ]; then
  podman logs --tail 40 "$cid" >&2 || true
  kubectl get pg,pgdb -A >&2 || true
  die "no working login with Secret $secret within ${CHECK_TIMEOUT:-120} s"
fi
ready=$(kubectl get postgresqldatabase demoservice -n default -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')
run_uid=$(podman exec "$cid" id -u)
touch_root=$(podman exec "$cid" sh -c 'touch /opt/x 2>&1 || true')
[ "$run_uid" = 10001 ] || die "the operator process runs as uid $run_uid"
grep -q 'Read-only file system' <<<"$touch_root" || die "the root filesystem is writable: $touch_root"
say "4. run: examples/local.yaml → psql login as $login after $(( $(date +%s) - t0 )) s (Ready=$ready), operator uid $run_uid, root filesystem read-only"
kubectl delete -f "$ROOT/examples/local.yaml" --wait=true --timeout=60s >/dev/null \
  && say "   examples/local.yaml deleted again (finalizers done)" \
  || say "   warning: deleting examples/local.yaml did not finish within 60 s"
say "OK: $IMAGE"
