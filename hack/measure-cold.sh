#!/usr/bin/env bash
# Measures the cold path of a fresh machine on this one, leaving this machine's Docker and caches
# alone: a clean clone, a second dockerd with its own empty data root and socket, and empty Go and
# firedrill caches. Times `make images` (cold), `make cluster-up`, `make cluster-down` and a second
# `make images`; with the argument `ci`, times the whole of `.ci/run` (cold) and then a second
# `make images`. Writes the table to $COLD_DIR/timings.md. Root only; not for CI.
#
# Usage: measure-cold.sh [ci]
#
# The second dockerd runs without iptables rules and on a bridge of its own (firedrill-cold0), so it
# cannot disturb the first daemon's networks. Never --bridge=none: dockerd then deletes the host's
# docker0, which the first daemon needs (this script once did).
set -euo pipefail
case "${1:-}" in
"" | ci) ;;
*) echo "measure-cold: unknown argument '$1' (usage: measure-cold.sh [ci])" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "measure-cold: run as root (it starts a second dockerd)" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
cold=${COLD_DIR:-/var/tmp/firedrill-cold}
sock=$cold/docker.sock

if [ -e "$cold" ]; then
  echo "measure-cold: $cold exists; remove it first (rm -rf $cold) for a cold measurement" >&2
  exit 2
fi
mkdir -p "$cold"
git clone -q "$repo" "$cold/src"

bridge=firedrill-cold0
ip link show "$bridge" >/dev/null 2>&1 || ip link add "$bridge" type bridge
ip addr replace 10.213.0.1/24 dev "$bridge"
ip link set "$bridge" up
dockerd --data-root "$cold/docker" --exec-root "$cold/exec" --pidfile "$cold/dockerd.pid" \
  -H "unix://$sock" --iptables=false --bridge="$bridge" >"$cold/dockerd.log" 2>&1 &
dockerd_pid=$!
stop_dockerd() {
  # Only ever the second daemon's cluster and network, never this machine's own.
  (cd "$cold/src" && DOCKER_HOST=unix://$sock make --no-print-directory cluster-down >>"$cold/steps.log" 2>&1) || true
  DOCKER_HOST=unix://$sock docker network rm kind >/dev/null 2>&1 || true # its bridge would outlive the daemon
  kill "$dockerd_pid" 2>/dev/null || true
  wait "$dockerd_pid" 2>/dev/null || true
  umount "$cold/exec/netns/default" 2>/dev/null || true
  ip link delete "$bridge" 2>/dev/null || true
  echo "measure-cold: done; remove $cold (the second daemon's images and caches) when read" >&2
}
trap stop_dockerd EXIT

export DOCKER_HOST=unix://$sock XDG_CACHE_HOME=$cold/cache GOPATH=$cold/gopath GOFLAGS=-modcacherw
unset GOCACHE GOMODCACHE
for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done

cd "$cold/src"
table=$cold/timings.md
echo "| step | seconds |" >"$table"
echo "|---|---|" >>"$table"
step() {
  local name=$1; shift
  local start=$SECONDS
  echo "measure-cold: $name" >&2
  local rc=0
  "$@" >>"$cold/steps.log" 2>&1 || rc=$?
  # A failed step is timed too (and says so): the time to fail is part of the measurement.
  echo "| $name | $(( SECONDS - start ))$( [ $rc = 0 ] || echo " (failed: exit $rc)") |" >>"$table"
  return $rc
}
case "${1:-}" in
ci)
  step "CI=true bash .ci/run (cold: empty Docker, Go and firedrill caches)" env CI=true bash .ci/run
  grep '^ci: ' "$cold/steps.log" | sed 's/^/measure-cold: /' >&2
  ;;
"")
  step "make images (cold: empty Docker, Go and firedrill caches)" make images
  step "make cluster-up (images cached)" make cluster-up
  step "make cluster-down" make cluster-down
  ;;
esac
step "make images (again, nothing changed)" make images
cat "$table"
