#!/usr/bin/env bash
# `make bench`: the Google Benchmark suite on one simulated night, whole-process timings, results.md.
# Usage: bench/run.sh BUILD_DIR OUT_DIR   (BUILD_DIR holds psgkit, bench/psgkit_bench, bench/psgkit_bench_report)
# Environment: PSGKIT_BENCH_RUNS (whole-process runs of `psgkit stage`, default 10),
#              PSGKIT_BENCH_REPETITIONS (Google Benchmark repetitions, default 3; the table shows the median),
#              PSGKIT_BENCH_MIN_TIME (seconds per repetition, default 0.2),
#              PSGKIT_BENCH_FILTER (regex: run only the benchmarks it matches, default all),
#              PSGKIT_BENCH_COHORT (0: skip the cohort timing), YASA_STAGE_S (YASA's staging time, default 3.9 s).
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR OUT_DIR}" && pwd)
mkdir -p "${2:?usage: run.sh BUILD_DIR OUT_DIR}"
out=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
psgkit=$build/psgkit
bench=$build/bench/psgkit_bench
report=$build/bench/psgkit_bench_report
runs=${PSGKIT_BENCH_RUNS:-10}
repetitions=${PSGKIT_BENCH_REPETITIONS:-3}
min_time=${PSGKIT_BENCH_MIN_TIME:-0.2}
filter=${PSGKIT_BENCH_FILTER:-.}
started=$SECONDS

rm -f "$out"/*.json
# The night: 8 h, 256 Hz, 6 signals (C4-M1, Fpz-Cz, EOG E1-M2, EMG Chin, C3-M2, O2-M1), fixed seed.
night=$out/night-8h-6x256hz.edf
"$psgkit" simulate --hypnogram "$here/data/demo/before.csv" --fs 256 --seed 7 --extra-eeg 2 -o "$night"
export PSGKIT_BENCH_EDF=$night
echo "night: $night ($(( $(stat -c %s "$night") / 1000000 )) MB)"
# How the night sits in the page cache changes what mapping it costs (bench_report.cpp, evict): first as
# EDFlib wrote it (4-KB pages), then read from disk: evicted before each cold run, and left as the cold
# runs read it for everything after.
"$report" time --name stage-as-written --runs "$runs" --bound-from BM_StagePipeline --note "(page cache: as written)" \
  --out "$out/87-stage-as-written.json" -- "$psgkit" stage "$night"
"$report" time --name stage-cold --runs 5 --bound-from BM_StagePipeline --note "(cold: evicted before each run)" \
  --cold "$night" --out "$out/88-stage-cold.json" -- "$psgkit" stage "$night"

# Each benchmark in its own process (peak RSS is its own), in the order of the table.
order=(BM_Bound BM_Decode BM_Resample BM_Bandpass BM_Welch BM_Multitaper BM_DefaultFeatures BM_DeepSleep
       BM_StageStep BM_ModelInference BM_StagePipeline BM_Simulate)
mapfile -t all < <("$bench" --benchmark_list_tests | grep -E -- "$filter")
ordered=()
for prefix in "${order[@]}"; do
  for name in "${all[@]}"; do [[ $name == "$prefix"* ]] && ordered+=("$name"); done
done
for name in "${all[@]}"; do
  found=0
  for o in "${ordered[@]}"; do [[ $o == "$name" ]] && found=1; done
  ((found)) || ordered+=("$name")
done
i=0
for name in "${ordered[@]}"; do
  i=$((i + 1))
  file=$(printf '%s/%02d-%s.json' "$out" "$i" "${name//\//_}")
  "$bench" --benchmark_filter="^${name}\$" --benchmark_repetitions="$repetitions" --benchmark_min_time="$min_time" \
    --benchmark_report_aggregates_only=true --benchmark_out="$file" --benchmark_out_format=json
done

# Whole process: start-up alone (`psgkit --version`), then `psgkit stage NIGHT`. Its CSV goes to stdout, which
# the timer sends to /dev/null. Not `-o /dev/null`: the CLI writes outputs atomically (temporary file +
# rename), which as root would replace the /dev/null device with a regular file.
"$report" time --name startup --runs "$runs" --out "$out/89-startup.json" -- "$psgkit" --version
"$report" time --name stage --runs "$runs" --bound-from BM_StagePipeline --out "$out/90-stage.json" -- "$psgkit" stage "$night"
# The one-EEG model c alone (what `stage` did before model e): issue 14's speed target compares the two.
"$report" time --name stage-model-c --runs "$runs" --bound-from BM_StagePipelineModelC --out "$out/90b-stage-model-c.json" -- \
  "$psgkit" stage "$night" --model c

# The whole per-night analysis against staging on the same night (issue #17), and compare of two nights.
night2=$out/night2-8h-6x256hz.edf
"$psgkit" simulate --hypnogram "$here/data/demo/after.csv" --fs 256 --seed 8 --extra-eeg 2 --swa-gain 1.3 -o "$night2"
"$report" evict "$night2"
cat "$night2" >/dev/null
"$report" time --name stats --runs "$runs" --out "$out/93-stats.json" -- "$psgkit" stats "$night" --json
"$report" time --name compare --runs "$runs" --out "$out/94-compare.json" -- "$psgkit" compare "$night" "$night2" --json

# Parallel cohort: 40 nights (20 subjects x before/after over 8 simulated 2-h nights at 256 Hz), 1 vs 2 jobs.
if [[ ${PSGKIT_BENCH_COHORT:-1} != 0 ]]; then
  if "$psgkit" cohort --help >/dev/null 2>&1; then
    cohort=$out/cohort
    mkdir -p "$cohort"
    echo "subject,session,path" >"$cohort/manifest.csv"
    for s in 1 2 3 4; do
      for session in before after; do
        gain=1.0
        [[ $session == after ]] && gain=1.3
        "$psgkit" simulate --hypnogram "$here/data/demo/$session.csv" --fs 256 --seed "$((s * 10))" --swa-gain "$gain" \
          --duration-h 2 -o "$cohort/s$s-$session.edf"
        "$report" evict "$cohort/s$s-$session.edf"
      done
    done
    for s in $(seq 1 20); do
      for session in before after; do echo "p$s,$session,s$(( (s - 1) % 4 + 1 ))-$session.edf" >>"$cohort/manifest.csv"; done
    done
    "$report" time --name cohort-jobs1 --runs 2 --out "$out/91-cohort-jobs1.json" -- "$psgkit" cohort "$cohort/manifest.csv" --jobs 1
    "$report" time --name cohort-jobs2 --runs 2 --out "$out/92-cohort-jobs2.json" -- "$psgkit" cohort "$cohort/manifest.csv" --jobs 2
  else
    echo "psgkit cohort is not available in this build: cohort timing skipped"
  fi
fi

# The Python package against MNE and the CLI (bench/python_bench.py), when it was built.
if [[ -f $build/python/psgkit/__init__.py ]] && /usr/bin/python3 -c "import numpy, pandas, mne" 2>/dev/null; then
  mkdir -p "$out/python"  # not *.json beside the benchmark files: bench_report table reads those
  PYTHONPATH=$build/python /usr/bin/python3 "$here/bench/python_bench.py" "$night" "$psgkit" "$out/python/python.json" "$runs"
else
  echo "Python package or MNE not available: Python timings skipped"
fi

"$report" table --dir "$out" --out "$out/results.md" --yasa-stage-s "${YASA_STAGE_S:-3.9}" >/dev/null
echo "results: $out/results.md ($out/*.json), $((SECONDS - started)) s"
