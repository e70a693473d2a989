#!/usr/bin/env bash
# The cluster half of CI: Docker, images (cached), a fresh kind cluster with the stack, the
# cluster specs and the drills; the cluster is deleted whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
stamp() { echo "e2e: $* (t+$(( $(date +%s) - start ))s)"; }
stamp "docker"; make --no-print-directory docker
stamp "images"; make --no-print-directory images
stamp "image smoke test"; FIREDRILL_IMAGES="$PWD/.work/images.json" go test -count=1 -run TestDockerImagesSmoke ./harness/images
trap 'stamp "cluster-down"; make --no-print-directory cluster-down || true' EXIT
# A fresh cluster every run: one left from an earlier run (stopped with its dockerd) is removed.
stamp "cluster-down (leftovers)"; make --no-print-directory cluster-down
stamp "cluster-up"; make --no-print-directory cluster-up
stamp "drills"; rc=0; make --no-print-directory run-drills LABELS="${E2E_LABELS:-cluster || drill}" || rc=$?
stamp "secret scan of everything the drills wrote"; make --no-print-directory scan-secrets || rc=1
stamp "done"
exit $rc
