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
  echo "-- sleep statistics of the scored hypnogram (excerpt of \`psgkit stats\`):"
  "$psgkit" stats "$here/data/demo/$night.csv" | grep -E '^(TST|SOL|WASO|N3|REM|SE) +[0-9.]+ +(min|%)$'
  # The hypnogram plot reads the EDF's stage annotations back.
  "$psgkit" plot "$out/$night.edf" --title "$night: hypnogram" -o "$out/$night-hypnogram.svg"
  "$psgkit" plot "$out/$night.edf" --kind spectrogram --channel C4-M1 --title "$night: spectrogram" \
    -o "$out/$night-spectrogram.svg"
  echo "-- plots: $out/$night-hypnogram.svg $out/$night-spectrogram.svg"
done
