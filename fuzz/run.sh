#!/usr/bin/env bash
# Runs the libFuzzer harnesses built in BUILD one after another, SECONDS each (one process, one
# core), and prints executions and findings per harness. Seeds: fuzz/make_seeds.sh (BUILD/corpus-*).
# Findings (crash-*, leak-*, timeout-*, oom-*) go to BUILD/findings-<harness>/, logs to
# BUILD/fuzz-<harness>.log.
# usage: fuzz/run.sh BUILD SECONDS [fuzz_harness...]
# env:   FUZZ_RSS_MB (2048), FUZZ_TIMEOUT_S (10, per input), FUZZ_MAX_LEN (65536 bytes: longer seeds
#        are cut, which also makes truncated variants), FUZZ_KEEP_GOING=1 (fork mode: go on after a
#        finding instead of stopping at the first one)
# Exit status 1 when any harness has findings or fails to run.
set -euo pipefail
if (( $# < 2 )); then echo "usage: $0 BUILD SECONDS [fuzz_harness...]" >&2; exit 2; fi
build=$(cd "$1" && pwd)
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
rss_mb=${FUZZ_RSS_MB:-2048}
timeout_s=${FUZZ_TIMEOUT_S:-10}
max_len=${FUZZ_MAX_LEN:-65536}
keep_going=${FUZZ_KEEP_GOING:-0}

harnesses=("$@")
if (( ${#harnesses[@]} == 0 )); then
  for exe in "$build"/fuzz_*; do [[ -x $exe && -f $exe ]] && harnesses+=("$(basename "$exe")"); done
fi
if (( ${#harnesses[@]} == 0 )); then echo "run.sh: no fuzz_* executables in $build" >&2; exit 2; fi

"$here/make_seeds.sh" "$build"

count_findings() {
  find -L "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) |
    wc -l
}
# Last match of an extended regex in a file, or nothing.
last_match() { grep -aoE "$1" "$2" | tail -n 1 || true; }

summary=()
failed=0
for h in "${harnesses[@]}"; do
  name=${h#fuzz_}
  corpus=$build/corpus-$name
  findings=$build/findings-$name
  log=$build/fuzz-$name.log
  mkdir -p "$corpus" "$findings"
  dict=$here/csv.dict
  [[ $name == *edf* ]] && dict=$here/edf.dict
  [[ $name == *model* ]] && dict=$here/ubj.dict
  mode=()
  (( keep_going )) && mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  before=$(count_findings "$findings")
  echo "== $h: $seconds s, corpus $(find -L "$corpus" -type f | wc -l) files, log $log"
  start=$(date +%s)
  status=0
  # CPU seconds (user + system, fork-mode jobs included) say how much fuzzing happened on a busy machine;
  # wall seconds do not.
  cpu_file=$(mktemp)
  TIMEFORMAT='%U %S'
  { time "$build/$h" "${mode[@]}" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" \
      -timeout="$timeout_s" -max_len="$max_len" -dict="$dict" -artifact_prefix="$findings/" \
      -print_final_stats=1 "$corpus" >"$log" 2>&1 || status=$?; } 2>"$cpu_file"
  elapsed=$(( $(date +%s) - start ))
  cpu=$(awk '{ printf "%.0f", $1 + $2 }' "$cpu_file")
  rm -f "$cpu_file"
  if (( keep_going )); then
    # fork mode status lines: "#<execs>: cov: <n> ft: ... oom/timeout/crash: a/b/c time: ..."
    execs=$(last_match '^#[0-9]+: cov' "$log" | tr -dc '0-9')
  else
    execs=$(last_match 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  fi
  cov=$(last_match 'cov: [0-9]+' "$log" | tr -dc '0-9')
  new=$(( $(count_findings "$findings") - before ))
  line=$(printf '%-22s %6ss wall %6ss CPU  execs %-10s cov %-6s corpus %-6s new findings %s (exit %s)' \
         "$h" "$elapsed" "$cpu" "${execs:-?}" "${cov:-?}" "$(find -L "$corpus" -type f | wc -l)" "$new" "$status")
  echo "$line"
  summary+=("$line")
  if (( new > 0 )); then
    failed=1
    { grep -aE 'ERROR: |runtime error|SUMMARY: |invariant broken|does not name the file|Test unit written' \
        "$log" || true; } | head -n 8 | sed 's/^/    /'
  elif (( status != 0 )); then
    failed=1  # a non-zero exit without an artifact: the harness did not run (bad flag, missing library...)
    tail -n 5 "$log" | sed 's/^/    /'
  fi
done

echo "== fuzz summary (findings in $build/findings-*)"
printf '%s\n' "${summary[@]}"
exit $failed
