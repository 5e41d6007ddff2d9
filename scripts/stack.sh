#!/usr/bin/env bash
# The compose stack's images, built here with podman (no Docker engine, no image registry).
#   scripts/stack.sh tools    podman + runc + debootstrap from Debian (root), the project's containers.conf
#   scripts/stack.sh base     debian:bookworm-slim from Debian's mirror (debootstrap → podman import), once
#   scripts/stack.sh images   the project image and the third-party stand-ins of docker/local, from that base
# Podman reads .run/stack/containers.conf (runc: crun fails on this machine's cgroups; ulimits
# the Docker API's defaults would exceed). Build layers are podman's own cache between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN_DIR="$ROOT/.run/stack"
export CONTAINERS_CONF="$RUN_DIR/containers.conf"
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=docker.io/library/debian:bookworm-slim
CA=${BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
S3PROXY_JAR=jars/tools/s3proxy-4.1.0-jar-with-dependencies.jar

conf() {
  mkdir -p "$RUN_DIR"
  cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
}

tools() {
  conf
  if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
  fi
  podman --version
}

base() {
  tools
  if podman image exists "$BASE"; then echo "$BASE exists"; return; fi
  local dir
  dir=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >"$RUN_DIR/debootstrap.log"
  echo "deb $MIRROR bookworm-updates main" >>"$dir/etc/apt/sources.list"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | podman import - "$BASE" >/dev/null
  rm -rf "$dir"
  echo "$BASE imported"
}

images() {
  base
  make jars tools >/dev/null
  local secret=()
  [[ -f $CA ]] && secret=(--secret "id=ca,src=$CA")
  podman build "${secret[@]}" -f docker/Dockerfile -t nyctaxi:latest .
  cp "$S3PROXY_JAR" docker/local/s3proxy.jar
  for name in postgres redis s3; do
    podman build -f "docker/local/$name.Dockerfile" -t "nyctaxi-local/$name:latest" docker/local
  done
}

case "${1:-}" in
  tools | base | images) "$1" ;;
  *) echo "usage: $0 tools|base|images" >&2; exit 2 ;;
esac
