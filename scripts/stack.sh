#!/usr/bin/env bash
# The compose stack's images, built here with podman (no Docker engine, no image registry).
#   scripts/stack.sh tools    podman + runc + debootstrap from Debian (root), the project's containers.conf
#   scripts/stack.sh base     debian:bookworm-slim from Debian's mirror (debootstrap → podman import), once
#   scripts/stack.sh images   the project image and the third-party stand-ins of docker/local, from that base
#   scripts/stack.sh prepare  images + the Compose binary (what `up` needs; nothing started)
#   scripts/stack.sh up [-f EXTRA.yml …]   docker-compose.yml itself (plus override files), every service healthy
#   scripts/stack.sh down [--volumes]   stop it (--volumes also deletes the lake and the databases)
#   scripts/stack.sh compose ARGS…   Docker Compose v2 against this stack (ps, logs, exec, kill …)
# Compose v2 (`make compose`, from its Go module) talks to podman's Docker API on .run/stack/podman.sock.
# Podman 4.3 runs healthchecks from systemd timers, and there is no systemd here: while the stack is
# up, a loop runs `podman healthcheck run` for its containers (compose's `service_healthy` needs it).
# Secrets: .run/stack/env, generated once with random values (never in git); the third-party images
# are the docker/local stand-ins unless POSTGRES_IMAGE / REDIS_IMAGE / S3_IMAGE are set.
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
SOCK="$RUN_DIR/podman.sock"
ENV_FILE="$RUN_DIR/env"
COMPOSE_BIN="$ROOT/jars/tools/bin/docker-compose"
PROJECT=nyctaxi
export DOCKER_HOST="unix://$SOCK"

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
  # Tagged under docker.io/library too: the Docker API resolves compose's `nyctaxi:latest` there.
  podman build "${secret[@]}" -f docker/Dockerfile -t nyctaxi:latest -t docker.io/library/nyctaxi:latest .
  cp "$S3PROXY_JAR" docker/local/s3proxy.jar
  for name in postgres redis s3; do
    podman build -f "docker/local/$name.Dockerfile" -t "nyctaxi-local/$name:latest" docker/local
  done
}

# podman's Docker-compatible API, for Compose.
service() {
  if curl -fs --unix-socket "$SOCK" http://podman/_ping >/dev/null 2>&1; then return; fi
  rm -f "$SOCK"
  nohup podman system service --time=0 "unix://$SOCK" >"$RUN_DIR/podman-service.log" 2>&1 &
  echo $! >"$RUN_DIR/podman-service.pid"
  for _ in $(seq 100); do
    curl -fs --unix-socket "$SOCK" http://podman/_ping >/dev/null 2>&1 && return
    sleep 0.2
  done
  echo "error: podman system service did not answer on $SOCK (see $RUN_DIR/podman-service.log)" >&2
  exit 1
}

secrets() {
  [[ -f $ENV_FILE ]] && return
  (umask 077 && python3 - >"$ENV_FILE") <<'PY'
import base64, secrets
token = lambda: secrets.token_urlsafe(24)
print(f"""MINIO_ROOT_USER=nyctaxi
MINIO_ROOT_PASSWORD={token()}
POSTGRES_USER=nyctaxi
POSTGRES_PASSWORD={token()}
POSTGRES_DB=airflow
AIRFLOW__CORE__FERNET_KEY={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}
AIRFLOW__API_AUTH__JWT_SECRET={token()}
AIRFLOW_ADMIN_PASSWORD={token()}""")
PY
}

compose() {
  secrets
  POSTGRES_IMAGE=${POSTGRES_IMAGE:-localhost/nyctaxi-local/postgres:latest} \
  REDIS_IMAGE=${REDIS_IMAGE:-localhost/nyctaxi-local/redis:latest} \
  S3_IMAGE=${S3_IMAGE:-localhost/nyctaxi-local/s3:latest} \
    "$COMPOSE_BIN" --project-name "$PROJECT" --env-file "$ENV_FILE" --file docker-compose.yml "${STACK_FILES[@]}" "$@"
}

# A Go duration as podman prints it (10s, 1m30s, 2h0m0s) → whole seconds (at least 1).
to_seconds() {
  local seconds=1
  if [[ $1 =~ ^(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)(\.[0-9]+)?s)?$ ]]; then
    seconds=$((${BASH_REMATCH[2]:-0} * 3600 + ${BASH_REMATCH[4]:-0} * 60 + ${BASH_REMATCH[6]:-0}))
  fi
  echo $((seconds > 0 ? seconds : 1))
}

# Until a container is healthy it is checked at its own interval (what compose's `service_healthy`
# waits on); once healthy, every max(interval, STACK_HEALTH_STEADY) seconds (default 300; 0 gives
# Docker's cadence). Measured idle on this 2-core machine: 40 % of its CPU with every check at its
# own interval (the Airflow checks start the Airflow CLI, about 3 s of CPU each), 7 % with 300 s.
# A dead service's container exits at once; only a hung one shows unhealthy up to 5 min late. A
# restarted container is "starting" again and is checked at its own pace until healthy.
health_loop() {
  declare -A due=()
  local now id interval status every steady=${STACK_HEALTH_STEADY:-300}
  while true; do
    now=$(date +%s)
    while read -r id interval status; do
      [[ -z $interval ]] && continue
      if ((now >= ${due[$id]:-0})); then
        every=$(to_seconds "$interval")
        [[ $status == healthy ]] && ((every < steady)) && every=$steady
        due[$id]=$((now + every))
        timeout 120 podman healthcheck run "$id" >/dev/null 2>&1 &
      fi
    done < <(podman ps -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r podman inspect \
      --format '{{.ID}} {{if .Config.Healthcheck}}{{.Config.Healthcheck.Interval}} {{.State.Health.Status}}{{end}}')
    sleep 5
  done
}

# Every service running and healthy, the one-shot ones exited 0; fails at once on a one-shot's error.
wait_healthy() {
  local deadline=$((SECONDS + ${STACK_TIMEOUT:-900})) services rc
  services=$(compose config --services | tr '\n' ' ')
  while ((SECONDS < deadline)); do
    rc=0
    compose ps --all --format json | python3 "$ROOT/scripts/stack_health.py" $services || rc=$?
    ((rc == 0)) && return
    ((rc == 2)) && unready "a container exited with an error"
    sleep 3
  done
  unready "the stack was not healthy after ${STACK_TIMEOUT:-900} s"
}

# Fails with REASON after what is needed to see why: every container's state, then the last lines
# of the log and the last healthcheck output of each one that is neither healthy nor exited 0.
unready() {
  local id name
  compose ps --all || true
  while read -r id name; do
    echo "--- $name: last log lines" >&2
    podman logs --tail 40 "$id" 2>&1 | sed 's/^/  /' >&2 || true
    echo "--- $name: last healthcheck" >&2
    podman inspect --format '{{with .State.Health}}{{range .Log}}{{.ExitCode}} {{.Output}}{{"\n"}}{{end}}{{end}}' "$id" 2>&1 \
      | tail -5 | sed 's/^/  /' >&2 || true
  done < <(podman ps -a --filter "label=com.docker.compose.project=$PROJECT" --format \
    '{{.ID}} {{.Names}} {{.Status}}' | awk '($3 == "Exited" && $4 != "(0)") || ($3 == "Up" && !/\(healthy\)/) {print $1, $2}')
  echo "error: $1" >&2
  exit 1
}

# Everything `up` needs, nothing started: the images and the Compose binary (built side by side:
# Go compiles while the image build mostly downloads). Cached: a second run takes seconds.
prepare() {
  local building=""
  mkdir -p "$RUN_DIR"
  if [[ ! -x $COMPOSE_BIN ]]; then
    make compose >"$RUN_DIR/compose-build.log" 2>&1 &
    building=$!
  fi
  images
  if [[ -n $building ]] && ! wait "$building"; then
    echo "error: building docker-compose failed (see $RUN_DIR/compose-build.log)" >&2
    exit 1
  fi
}

up() {
  prepare
  service
  if ! { [[ -f $RUN_DIR/health.pid ]] && kill -0 "$(cat "$RUN_DIR/health.pid")" 2>/dev/null; }; then
    health_loop >/dev/null 2>&1 &
    echo $! >"$RUN_DIR/health.pid"
  fi
  compose up --detach --no-build || unready "compose up failed"
  wait_healthy
  compose ps
}

down() {
  curl -fs --unix-socket "$SOCK" http://podman/_ping >/dev/null 2>&1 && compose down "$@"
  for name in health podman-service; do
    [[ -f $RUN_DIR/$name.pid ]] && { kill "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || true; rm -f "$RUN_DIR/$name.pid"; }
  done
}

command=${1:-}
shift || true
STACK_FILES=()
while [[ ${1:-} == -f ]]; do STACK_FILES+=(--file "$2"); shift 2; done
case "$command" in
  tools | base | images | prepare | up) "$command" ;;
  health-loop) health_loop ;;   # what `up` runs in the background
  down) down "$@" ;;
  compose) service && compose "$@" ;;
  *) echo "usage: $0 tools|base|images|prepare|up [-f FILE]…|down|compose ARGS…" >&2; exit 2 ;;
esac
