#!/usr/bin/env bash
# Build the CPU image from the repository's Dockerfile as it is, serve it, and check what a team
# relies on: health, the 8 pages (Playwright in Debian's chromium), the default model in the models
# volume, a non-root server, and an upgrade (rebuild + restart on the same data) that keeps every
# video, result, version and alias. `.ci/run` runs it after the test suite (it needs the test
# .venv); by hand: `sudo scripts/test_image.sh` after `scripts/test.sh`.
#
# No Docker engine is needed: Debian's podman builds the image (`--isolation chroot`), from a
# `python:3.11-slim` equivalent made from Debian's packages when there is none (debootstrap), and
# the image is served from a writable mount of a container created from it, in a chroot as the
# image's user, with two data folders bound where the compose file puts its named volumes (a new
# models folder starts with the image's /data/models, as a new named volume does).
# DFE_CA_BUNDLE (default: the system's bundle) reaches pip in the build as a build secret, for
# networks that inspect TLS. DFE_IMAGE_REQUIREMENTS=requirements-gpu.txt builds the GPU variant too.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=localhost/dynamic-features:cpu
BASE=localhost/python:3.11-slim
CA_BUNDLE="${DFE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
PORT="${DFE_IMAGE_PORT:-8599}"
work="$(mktemp -d /tmp/dfe-image.XXXXXX)"
data="$work/data"
mounts=()
server_pid=""
container=""

say() { echo "test_image: $*"; }

cleanup() {
  stop_server || true
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
  if [ -n "$container" ]; then podman umount "$container" >/dev/null 2>&1 || true; podman rm -f "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then  # podman builds, and serving mounts and chroots: root's work
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then exec sudo -n -E "$0" "$@"; fi
  say "needs root or passwordless sudo: sudo $0"; exit 1
fi
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
  say "installing podman and debootstrap (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman debootstrap >/dev/null
fi

if ! podman image exists "$BASE"; then
  say "making $BASE from Debian's packages"
  debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-pip,ca-certificates \
    bookworm "$work/base" http://deb.debian.org/debian >/dev/null
  tar -C "$work/base" -c . | podman import --quiet - "$BASE" >/dev/null
  rm -rf "$work/base"
fi

build() {  # the image from the Dockerfile as it is; prints its build time and size
  local started secret=()
  started=$(date +%s)
  [ -s "$CA_BUNDLE" ] && secret=(--secret "id=ca_bundle,src=$CA_BUNDLE")
  # docker format: OCI images drop HEALTHCHECK, which compose's restarts rely on
  podman build --isolation chroot --format docker "${secret[@]}" --build-arg "REQUIREMENTS=${1:-requirements.txt}" \
    -t "${2:-$IMAGE}" . >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; return 1; }
  podman image inspect --format '{{.HealthCheck.Test}}' "${2:-$IMAGE}" | grep -q _stcore/health \
    || { say "the image has no health check"; return 1; }
  say "built ${2:-$IMAGE} in $(( $(date +%s) - started )) s, $(podman image inspect --format '{{.Size}}' "${2:-$IMAGE}" | numfmt --to=iec) "
}

bind() { mkdir -p "$2"; mount --bind "$1" "$2"; mounts+=("$2"); }

in_image() {  # (in a subshell, which it replaces) a command in the served container's root, as the
  # image's user, with the image's environment
  local root user
  root="$(podman mount "$container")"
  user="$(podman image inspect --format '{{.Config.User}}' "$IMAGE")"
  mapfile -t environment < <(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')
  exec env -i "${environment[@]}" HOME=/home/dfe DFE_PORT="$PORT" DFE_ADDRESS=127.0.0.1 \
    chroot --userspec="$user" "$root" /bin/sh -c "cd /app && $1"
}

start_server() {  # a container from the image, the data folders bound in, its command (scripts/serve.sh)
  local root
  container="$(podman create --no-healthcheck "$IMAGE")"  # the script checks health itself
  root="$(podman mount "$container")"
  mounts=()
  mount -t proc proc "$root/proc"; mounts+=("$root/proc")
  bind /dev "$root/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"; mounts+=("$root/dev/shm")  # multiprocessing's semaphores
  mount -t tmpfs tmpfs "$root/tmp"; mounts+=("$root/tmp")
  if [ ! -e "$data/models/.initialised" ]; then  # a new named volume starts with the image's content
    mkdir -p "$data/workspace" "$data/models"
    cp -a "$root/data/models/." "$data/models/"
    touch "$data/models/.initialised"
    chown -R "$(stat -c %u:%g "$root/data")" "$data"
  fi
  bind "$data/workspace" "$root/data/workspace"
  bind "$data/models" "$root/data/models"
  if curl -fsS "http://127.0.0.1:$PORT/_stcore/health" >/dev/null 2>&1; then
    say "port $PORT is taken by another server (DFE_IMAGE_PORT chooses another)"; return 1
  fi
  (in_image "exec scripts/serve.sh") >"$work/server.log" 2>&1 &
  server_pid=$!  # the server's supervisor, once serve.sh has exec'd it
  for _ in $(seq 300); do
    if curl -fsS "http://127.0.0.1:$PORT/_stcore/health" >/dev/null 2>&1; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || { tail -30 "$work/server.log"; return 1; }
    sleep 1
  done
  tail -30 "$work/server.log"; return 1
}

stop_server() {  # SIGTERM, as docker stop; then the container's mounts go
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}"; done
  mounts=()
  podman umount "$container" >/dev/null; podman rm -f "$container" >/dev/null
  container=""
}

started=$(date +%s)
build
if [ -n "${DFE_IMAGE_REQUIREMENTS:-}" ]; then build "$DFE_IMAGE_REQUIREMENTS" localhost/dynamic-features:variant; fi

say "serving the image on port $PORT"
start_server
(in_image ".venv/bin/python -m core models alias production default") >/dev/null  # a team's own alias
.venv/bin/python scripts/check_image.py "http://127.0.0.1:$PORT" "$data" "$server_pid" first

say "upgrade: rebuild, restart on the same data"
stop_server
build
start_server
.venv/bin/python scripts/check_image.py "http://127.0.0.1:$PORT" "$data" "$server_pid" upgraded
stop_server
say "passed in $(( $(date +%s) - started )) s"
