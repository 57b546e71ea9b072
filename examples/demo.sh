#!/usr/bin/env bash
# The demo: simulate the bundled before/after nights and show them. Usage: demo.sh PSGKIT OUTDIR
set -euo pipefail
psgkit=$1
out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
for night in before after; do
  "$psgkit" simulate --hypnogram "$here/data/demo/$night.csv" --seed 7 -o "$out/$night.edf"
  echo "== $night night: $out/$night.edf"
  "$psgkit" info "$out/$night.edf"
done
