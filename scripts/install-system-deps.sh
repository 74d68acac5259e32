#!/usr/bin/env bash
# Installs what the tests need from the machine's package sources when it is missing:
# PostgreSQL server binaries (Debian), moto_server (PyPI), Go (for building kube-apiserver/etcd/helm).
# Idempotent and quiet when everything is present.
set -euo pipefail
CACHE="${HYBRIDCLOUD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hybridcloud-postgresql}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

need_apt=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql postgresql-contrib)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "system-deps: apt-get install ${need_apt[*]}" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
  # Debian starts a cluster as a system service; the tests start their own in temp dirs.
  $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
fi

# moto_server for the AWS backends, in a venv of our own so the system Python stays untouched.
MOTO_VENV="$CACHE/moto-venv"
if [ ! -x "$MOTO_VENV/bin/moto_server" ]; then
  echo "system-deps: pip install moto[server] into $MOTO_VENV" >&2
  python3 -m venv "$MOTO_VENV" >&2
  "$MOTO_VENV/bin/pip" install -q 'moto[server]==5.2.1' >&2
fi
