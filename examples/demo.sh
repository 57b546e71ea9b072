#!/usr/bin/env bash
# The demo: simulate a patient's night before and after treatment (the bundled hypnograms; after:
# more N3 and, with --swa-gain, stronger slow waves), stage both automatically and compare deep sleep.
# Usage: demo.sh PSGKIT OUTDIR
set -euo pipefail
psgkit=$1
out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
"$psgkit" simulate --hypnogram "$here/data/demo/before.csv" --seed 7 -o "$out/before.edf"
"$psgkit" simulate --hypnogram "$here/data/demo/after.csv" --seed 8 --swa-gain 1.3 -o "$out/after.edf"
for night in before after; do
  echo "== $night night: $out/$night.edf"
  "$psgkit" info "$out/$night.edf"
  echo
done
echo "== before/after comparison (each night staged automatically)"
"$psgkit" compare "$out/before.edf" "$out/after.edf" --html "$out/report.html" -o "$out/comparison.txt"
head -n 22 "$out/comparison.txt"
echo "   ... full table: $out/comparison.txt"
echo
echo "HTML report: $out/report.html"
