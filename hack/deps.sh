#!/usr/bin/env bash
# Installs the Debian packages firedrill's tests and image builds use, when they are missing.
set -euo pipefail
need=()
command -v /usr/lib/postgresql/15/bin/postgres >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v jq >/dev/null || need+=(jq)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
# The HTML report's test opens the pages in headless Chromium.
command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing ${need[*]}: install them (apt-get install ${need[*]}) or run make as root" >&2
  exit 1
fi
echo "deps: installing ${need[*]} from Debian" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
