#!/usr/bin/env bash
# Fills BUILD/corpus-<harness> with seed inputs taken from ../shared/data (copies, never into the repo)
# plus a few hand-written edge cases. Existing corpus files (grown by earlier runs) are kept.
# usage: fuzz/make_seeds.sh BUILD
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/../shared/data

mkdir -p "$build"/corpus-{edf,hypnogram_edf,hypnogram_csv,staging_csv,hypnogram_dreams,feature_csv,staging_model}

# Header size in bytes as written in an EDF header (bytes 184..191), or 256 if unreadable.
header_bytes() {
  local n
  n=$(dd if="$1" bs=1 skip=184 count=8 2>/dev/null | tr -d ' \0')
  [[ $n =~ ^[0-9]+$ ]] && echo "$n" || echo 256
}

# A small recording and truncated prefixes of it: whole header, half a header, header + a little data.
add_edf_seeds() {  # DEST_DIR FILE
  local dest=$1 file=$2 name hb size
  name=$(echo "${file#"$data"/}" | tr '/' '_')
  size=$(stat -c %s "$file")
  hb=$(header_bytes "$file")
  if (( size < 200000 )); then cp -f "$file" "$dest/$name"; fi
  head -c "$hb" "$file" >"$dest/$name.header"
  head -c $((hb / 2)) "$file" >"$dest/$name.halfheader"
  head -c $((hb + 1024)) "$file" >"$dest/$name.plus1k"
  if (( size < 200000 )); then head -c $((size - 1)) "$file" >"$dest/$name.minus1"; fi
}

if [[ -d $data ]]; then
  while IFS= read -r -d '' f; do add_edf_seeds "$build/corpus-edf" "$f"; done \
    < <(find "$data" -type f \( -iname '*.edf' -o -iname '*.bdf' \) -print0)
  while IFS= read -r -d '' f; do add_edf_seeds "$build/corpus-hypnogram_edf" "$f"; done \
    < <(find "$data/sleep-edf" "$data/edf-corpus/annotations-only" -type f -iname '*hypnogram*.[eb]df' -print0)
  for f in "$data"/dreams/*.hypnogram.csv "$data"/sleep-edf/SC4001E0.hypnogram.csv; do
    cp -f "$f" "$build/corpus-hypnogram_csv/$(basename "$f")"
  done
  head -n 40 "$data/sleep-edf/SC4002E0.hypnogram.csv" >"$build/corpus-hypnogram_csv/SC4002E0.head.csv"
  for f in "$data"/dreams/*.hypnogram-5s.txt; do cp -f "$f" "$build/corpus-hypnogram_dreams/$(basename "$f")"; done
  cp -f "$data"/dreams/excerpt1.hypnogram.csv "$data"/dreams/excerpt1.hypnogram-5s.txt "$build/corpus-staging_csv/"
  cp -f "$data"/sleep-edf/SC4001E0-first300s.expected-*.csv "$build/corpus-feature_csv/"
  head -n 5 "$data/sleep-edf/SC4001E0.bandpower.csv" >"$build/corpus-feature_csv/bandpower.head.csv"
  head -n 5 "$data/sleep-edf-153/SC4001E0.timedomain.csv" >"$build/corpus-feature_csv/timedomain.head.csv"
else
  echo "make_seeds.sh: $data is absent; using the hand-written seeds only" >&2
fi

# Hand-written seeds: the edge cases the real files do not show.
c=$build/corpus-hypnogram_csv
printf 'onset_s,duration_s,stage\r\n0,30,W\r\n30,60,N2\r\n90,30,UNS\r\n' >"$c/crlf.csv"
printf 'onset_s,duration_s,stage\n0,30,Sleep stage 4\n30,30,R\n60,30,?\n120,30,Movement time\n' >"$c/labels_gap.csv"
printf '\xEF\xBB\xBFonset_s,duration_s,stage\n15,30,"N1"\n' >"$c/bom_quoted.csv"
c=$build/corpus-staging_csv
printf 'epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3,p_REM\n0,0,W,0.9,0.9,0.05,0.03,0.01,0.01\n1,30,N2,0.6,0.1,0.2,0.6,0.05,0.05\n2,60,REM,0.5,0.1,0.2,0.1,0.1,0.5\n' >"$c/staging.csv"
printf 'epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3,p_REM\n0,0,N3,1,0,0,0,1,0\n' >"$c/staging_one.csv"
printf '[Hypnogram]\n5\n5\n5\n5\n5\n5\n2\n2\n2\n2\n2\n2\n' >"$c/dreams.txt"
c=$build/corpus-hypnogram_dreams
printf '[Hypnogram]\r\n5\r\n4\r\n3\r\n2\r\n1\r\n0\r\n-1\r\n' >"$c/all_codes_crlf.txt"
printf '[Hypnogram]\n' >"$c/header_only.txt"
c=$build/corpus-feature_csv
printf 'onset_s,stage,a_uv,b\n0,W,1.5,nan\n30,N3,-2e-3,4\n' >"$c/small.csv"
printf 'onset_s,x\n0,1\n60,2\n' >"$c/nostage.csv"

# A tiny staging model, byte by byte (the shipped ones are larger than the fuzzer's input limit): XGBoost
# UBJSON as `psgkit train` writes it, with model c's kind of metadata and 5 trees, one of them a split.
be() {  # BYTES VALUE: VALUE big-endian in BYTES bytes
  local i
  for ((i = 8 * ($1 - 1); i >= 0; i -= 8)); do printf "\\$(printf '%03o' $((($2 >> i) & 255)))"; done
}
ukey() { printf 'L'; be 8 ${#1}; printf '%s' "$1"; }  # object key: int64 length, no marker
ustr() { printf 'S'; ukey "$1"; }
uarr() {  # TYPE BYTES VALUE...: a typed array (float32 values given as their bit patterns)
  local type=$1 bytes=$2 v
  shift 2
  printf '[$%s#L' "$type"
  be 8 $#
  for v in "$@"; do be "$bytes" "$v"; done
}
utree() {  # LEFT RIGHT FEATURE BITS DEFAULT_LEFT, each a comma-separated list
  printf '{'
  ukey default_left; uarr U 1 ${5//,/ }
  ukey left_children; uarr l 4 ${1//,/ }
  ukey right_children; uarr l 4 ${2//,/ }
  ukey split_conditions; uarr d 4 ${4//,/ }
  ukey split_indices; uarr l 4 ${3//,/ }
  printf '}'
}
meta='{"design":{"centered":true,"centered_sd":true,"past":true,"raw":true},"format":"psgkit-staging-1",'
meta+='"hmm":{"evidence_exponent":1.5,"prior":[0.2,0.2,0.2,0.2,0.2],"prior_exponent":0.5,"transition":'
meta+='[[0.6,0.1,0.1,0.1,0.1],[0.1,0.6,0.1,0.1,0.1],[0.1,0.1,0.6,0.1,0.1],[0.1,0.1,0.1,0.6,0.1],[0.1,0.1,0.1,0.1,0.6]]},'
meta+='"id":"c","n_features":65,"recipe":"sleepedf-timedomain","slots":["eeg"]}'
{
  printf '{'; ukey learner; printf '{'
  ukey attributes; printf '{'; ukey psgkit_staging; ustr "$meta"; printf '}'
  ukey gradient_booster; printf '{'
  ukey model; printf '{'
  ukey tree_info; uarr l 4 0 1 2 3 4
  ukey trees; printf '[#L'; be 8 5
  utree 1,-1,-1 2,-1,-1 64,0,0 0,0xBF000000,0x3F000000 1,0,0  # x64 < 0 (missing: left) ? -0.5 : 0.5
  for _ in 1 2 3 4; do utree -1 -1 0 0x3E800000 0; done     # one leaf, 0.25
  printf '}'
  ukey name; ustr gbtree; printf '}'
  ukey learner_model_param; printf '{'
  ukey base_score; ustr 5E-1; ukey num_class; ustr 5; ukey num_feature; ustr 65; printf '}'
  ukey objective; printf '{'; ukey name; ustr multi:softprob; printf '}'
  printf '}}'
} >"$build/corpus-staging_model/tiny-model-c.ubj"

for d in "$build"/corpus-*; do echo "seeds: $(basename "$d"): $(find "$d" -type f | wc -l) files"; done
