#!/usr/bin/env bash
# The demo: simulate a patient's night before and after treatment (the bundled hypnograms; after:
# more N3 and, with --swa-gain, stronger slow waves), stage both recordings automatically, compare
# deep sleep, and print the comparison of the hypnograms the nights were simulated from beside it
# for reference. Usage: demo.sh PSGKIT OUTDIR
set -euo pipefail
psgkit=$1
out=$2
demo=$(cd "$(dirname "$0")/.." && pwd)/data/demo
mkdir -p "$out"
"$psgkit" simulate --hypnogram "$demo/before.csv" --seed 7 -o "$out/before.edf"
"$psgkit" simulate --hypnogram "$demo/after.csv" --seed 8 --swa-gain 1.3 -o "$out/after.edf"
for night in before after; do
  echo "== $night night: $out/$night.edf"
  "$psgkit" info "$out/$night.edf" | head -n 12
  echo
done
# The end-to-end pipeline: each EDF is staged automatically (model, channels and the out-of-domain
# check are printed), then sleep statistics and the deep-sleep signal measures are compared.
echo "== before/after comparison, automatic staging of each recording"
"$psgkit" compare "$out/before.edf" "$out/after.edf" --html "$out/report.html" -o "$out/comparison.txt"
head -n 22 "$out/comparison.txt"
echo "   ... full table: $out/comparison.txt"
echo
# For reference: the same measures from the hypnograms the nights were simulated from (the truth),
# beside the automatic ones, for every measure both comparisons have.
"$psgkit" compare "$demo/before.csv" "$demo/after.csv" -o "$out/comparison-simulated-scoring.txt" 2>/dev/null
echo "== automatic staging beside the scoring the nights were simulated from"
# Columns: measure, unit (may be blank), before, after, difference, % change.
awk 'NR == FNR { if (FNR > 1) truth[$1] = $(NF - 3) " " $(NF - 2); next }
     FNR == 1 { printf "%-22s %7s %12s %12s %12s %12s\n", "measure", "unit", "before auto", "simulated", "after auto", "simulated"; next }
     ($1 in truth) && shown++ < 16 { split(truth[$1], t, " ");
       printf "%-22s %7s %12s %12s %12s %12s\n", $1, NF == 6 ? $2 : "", $(NF - 3), t[1], $(NF - 2), t[2] }' \
  "$out/comparison-simulated-scoring.txt" "$out/comparison.txt"
echo
for night in before after; do
  echo "== automatic staging of the $night night against the scoring it was simulated from"
  "$psgkit" stage "$out/$night.edf" -o "$out/$night-staged.csv" 2>&1  # channels, model, out-of-domain check
  "$psgkit" evaluate --truth "$demo/$night.csv" --pred "$out/$night-staged.csv" | grep -E "accuracy|kappa|N3"
  echo
done
echo "HTML report: $out/report.html"
