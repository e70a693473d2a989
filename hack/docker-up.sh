#!/usr/bin/env bash
# Makes sure a Docker engine that can run kind's privileged node containers is up:
# installs Debian's docker.io when missing (root only), applies the runc wrapper only when this
# host's capability bounding set lacks CAP_SYS_RESOURCE, and starts dockerd when it is not running.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "docker-up: $*" >&2; }
die() { log "$*"; exit 1; }

if ! command -v dockerd >/dev/null || ! command -v jq >/dev/null; then
  [ "$(id -u)" = 0 ] || die "docker is not installed; install Docker (or run as root to let firedrill install Debian's docker.io)"
  log "installing docker.io and jq from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io jq >/dev/null
fi

# CAP_SYS_RESOURCE is bit 24 of the bounding set; privileged containers ask for it.
needs_wrapper() {
  local bnd
  bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  (( (16#$bnd >> 24) & 1 )) && return 1 || return 0
}

wrapper=/usr/local/libexec/firedrill/runc-wrapper
config_changed=false
if needs_wrapper; then
  [ "$(id -u)" = 0 ] || die "this host lacks CAP_SYS_RESOURCE: run 'make docker' once as root to install the runc wrapper"
  mkdir -p "$(dirname "$wrapper")"
  tmp=$(mktemp)
  (cd "$here" && CGO_ENABLED=0 go build -o "$tmp" ./cmd/runc-wrapper)
  if ! cmp -s "$tmp" "$wrapper" 2>/dev/null; then
    install -m 0755 "$tmp" "$wrapper"
  fi
  rm -f "$tmp"
  mkdir -p /etc/docker
  current='{}'
  [ -s /etc/docker/daemon.json ] && current=$(cat /etc/docker/daemon.json)
  wanted=$(jq --arg path "$wrapper" \
    '.runtimes["firedrill-runc"] = {path: $path} | .["default-runtime"] = "firedrill-runc"' <<<"$current")
  if [ "$(jq -S . <<<"$current")" != "$(jq -S . <<<"$wanted")" ]; then
    log "registering $wrapper as docker's default runtime (host lacks CAP_SYS_RESOURCE)"
    echo "$wanted" >/etc/docker/daemon.json
    config_changed=true
  fi
fi

running_pid() { pgrep -x dockerd | head -1; }
if [ -n "$(running_pid)" ] && $config_changed; then
  pid=$(running_pid)
  log "restarting dockerd (pid $pid) to load the new runtime"
  kill "$pid"
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
fi
if ! docker info >/dev/null 2>&1; then
  [ -n "$(running_pid)" ] || {
    [ "$(id -u)" = 0 ] || die "docker is not running; start it (sudo systemctl start docker) and retry"
    log "starting dockerd (log: /var/log/firedrill-dockerd.log)"
    nohup dockerd >/var/log/firedrill-dockerd.log 2>&1 </dev/null &
  }
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || die "dockerd did not come up; see /var/log/firedrill-dockerd.log"
fi
log "docker $(docker version --format '{{.Server.Version}}') is up"
