#!/usr/bin/env bash
# Runs the five-drill suite RUNS times back to back on the cluster that is up and writes a
# summary (run, verdict, specs, seconds) to $ARTIFACTS/summary.md. A flake is a bug to fix.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
out=${ARTIFACTS:-artifacts/repeat}
labels=${LABELS:-drill && !interrupt && !rbac && !last-resort}
mkdir -p "$out"
ledger=$(realpath -m "$out/ledger.jsonl") # the drills' records go here, not into the committed ledger
summary="$out/summary.md"
{
  echo "| run | verdict | specs passed/ran | seconds |"
  echo "|---|---|---|---|"
} >"$summary"
passes=0
for i in $(seq "$runs"); do
  start=$(date +%s)
  make --no-print-directory run-drills LABELS="$labels" ARTIFACTS="$out/$i" LEDGER="$ledger" >"$out/$i.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  specs=$(jq -r '[.[].SpecReports[] | select(.LeafNodeType == "It" and .State != "skipped")] |
    "\(map(select(.State == "passed")) | length)/\(length)"' "$out/$i/report.json" 2>/dev/null || echo "?")
  verdict=passed
  if [ "$rc" -ne 0 ]; then verdict="FAILED (exit $rc, see $out/$i.log)"; else passes=$((passes + 1)); fi
  echo "| $i | $verdict | $specs | $secs |" >>"$summary"
  echo "repeat-drills: run $i/$runs $verdict, specs $specs, ${secs}s"
done
echo "" >>"$summary"
echo "$passes of $runs runs passed" >>"$summary"
cat "$summary"
[ "$passes" -eq "$runs" ]
