#!/usr/bin/env bash
# The demo: simulate a patient's night before and after treatment (the bundled hypnograms; after:
# more N3 and, with --swa-gain, stronger slow waves), compare deep sleep, and show how automatic
# staging agrees with the scoring the nights were simulated from. Usage: demo.sh PSGKIT OUTDIR
set -euo pipefail
psgkit=$1
out=$2
demo=$(cd "$(dirname "$0")/.." && pwd)/data/demo
mkdir -p "$out"
"$psgkit" simulate --hypnogram "$demo/before.csv" --seed 7 -o "$out/before.edf"
"$psgkit" simulate --hypnogram "$demo/after.csv" --seed 8 --swa-gain 1.3 -o "$out/after.edf"
for night in before after; do
  echo "== $night night: $out/$night.edf"
  "$psgkit" info "$out/$night.edf"
  echo
done
# The hypnograms the nights were simulated from stand in for an expert's scoring; the signal
# measures (SWA, slow waves) come from the EEG of each recording.
echo "== before/after comparison"
"$psgkit" compare "$out/before.edf" "$out/after.edf" --hypnogram-before "$demo/before.csv" \
  --hypnogram-after "$demo/after.csv" --html "$out/report.html" -o "$out/comparison.txt"
head -n 22 "$out/comparison.txt"
echo "   ... full table: $out/comparison.txt"
echo
echo "== automatic staging of the before night against its scoring (simulated EEG is not training data)"
"$psgkit" stage "$out/before.edf" -o "$out/before-staged.csv"
"$psgkit" evaluate --truth "$demo/before.csv" --pred "$out/before-staged.csv"
echo
echo "HTML report: $out/report.html"
