#!/usr/bin/env bash
# Installs what the tests need from the machine's package sources when it is missing:
# PostgreSQL server binaries (Debian), moto_server (PyPI), Go (for building kube-apiserver/etcd/helm; from the Go module proxy).
# Idempotent and quiet when everything is present.
set -euo pipefail
CACHE="${HYBRIDCLOUD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hybridcloud-postgresql}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

need_apt=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql postgresql-contrib)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "system-deps: apt-get install ${need_apt[*]}" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
  # Debian starts a cluster as a system service; the tests start their own in temp dirs.
  $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
fi

# Go builds etcd, kube-apiserver, kubectl and helm once (packages/testenv/go). Debian's golang-go is
# too old for these modules, so a missing or old Go is fetched from the Go module proxy as the
# golang.org/toolchain module, exactly what `GOTOOLCHAIN=go1.x` does, into the cache.
GO_VERSION="1.26.8"
go_ok() { "$1" version 2>/dev/null | grep -Eq 'go1\.(2[6-9]|[3-9][0-9])'; }
if ! { command -v go >/dev/null 2>&1 && go_ok go; } && ! go_ok /usr/local/go/bin/go && ! go_ok "$CACHE/go/bin/go"; then
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  proxy="${GOPROXY:-https://proxy.golang.org}"; proxy="${proxy%%,*}"; [ "$proxy" = direct ] || [ "$proxy" = off ] && proxy=https://proxy.golang.org
  mod="v0.0.1-go$GO_VERSION.linux-$arch"
  echo "system-deps: fetching Go $GO_VERSION ($proxy/golang.org/toolchain/@v/$mod.zip) into $CACHE/go" >&2
  tmp="$(mktemp -d)"
  if curl -fsSL --retry 3 -o "$tmp/go.zip" "$proxy/golang.org/toolchain/@v/$mod.zip"; then
    python3 - "$tmp/go.zip" "$tmp/x" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        mode = (info.external_attr >> 16) & 0o777
        if mode: os.chmod(path, mode)
PY
    rm -rf "$CACHE/go" && mkdir -p "$CACHE" && mv "$tmp/x/golang.org/toolchain@$mod" "$CACHE/go"
    chmod +x "$CACHE/go/bin/"* "$CACHE/go/pkg/tool/"*/* 2>/dev/null || true
  else
    echo "system-deps: could not download Go from $proxy (the testenv needs Go >= 1.26 once, to build its binaries)" >&2
  fi
  rm -rf "$tmp"
fi

# moto_server for the AWS backends, in a venv of our own so the system Python stays untouched.
MOTO_VENV="$CACHE/moto-venv"
if [ ! -x "$MOTO_VENV/bin/moto_server" ]; then
  echo "system-deps: pip install moto[server] into $MOTO_VENV" >&2
  python3 -m venv "$MOTO_VENV" >&2
  "$MOTO_VENV/bin/pip" install -q 'moto[server]==5.2.1' >&2
fi
