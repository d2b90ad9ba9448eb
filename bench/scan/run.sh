#!/usr/bin/env bash
# Throughput of `model-auditor scan --input FILE` against `wc -l` on the same
# NDJSON call log (~1 KB realistic lines), both reading from the page cache,
# pinned to one core. Generates the file once (kept in $BENCH_DIR by size).
#
#   bench/scan/run.sh [SIZE_MB]        # default 1024 (~1 GB); REPEAT=3 runs, median
#   FORMATS="plain gzip zstd" bench/scan/run.sh 256   # also compressed copies
#
# Env: MODEL_AUDITOR (binary, default build/model-auditor), BENCH_DIR
# (default /tmp/model-auditor-bench), REPEAT, CPU (core to pin, default 0).
# Target (issue 6): plain NDJSON >= 300 MB/s on one core. Needs python3, awk
# (and gzip/zstd for FORMATS); taskset pins when present.
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mb=${1:-${SIZE_MB:-1024}}
repeat=${REPEAT:-3}
bin=${MODEL_AUDITOR:-build/model-auditor}
dir=${BENCH_DIR:-/tmp/model-auditor-bench}
cpu=${CPU:-0}
formats=${FORMATS:-plain}
[ -x "$bin" ] || { echo "run.sh: $bin not built (scripts/build.sh)" >&2; exit 2; }
mkdir -p "$dir"
plain="$dir/calls-${size_mb}MB.ndjson"
[ -s "$plain" ] || python3 bench/scan/gen_calls.py "$plain" "$size_mb"
pin=()
command -v taskset >/dev/null && pin=(taskset -c "$cpu")

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
seconds() {  # seconds of one run of "$@", stdout discarded
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
bytes=$(stat -c %s "$plain")
lines=$(wc -l <"$plain")
printf 'input: %s, %d bytes, %d lines, %.0f B/line\n' "$plain" "$bytes" "$lines" "$(calc "$bytes / $lines")"

run_format() {
  local fmt=$1 file=$plain
  case $fmt in
    gzip) file="$plain.gz"; [ -s "$file" ] || gzip -1 -c "$plain" >"$file" ;;
    zstd) file="$plain.zst"; [ -s "$file" ] || zstd -q -1 -c "$plain" >"$file" ;;
  esac
  cat "$file" >/dev/null  # into the page cache: measure CPU, not the disk
  local wc_times=() scan_times=()
  for _ in $(seq "$repeat"); do
    if [ "$fmt" = plain ]; then wc_times+=("$(seconds "${pin[@]}" wc -l "$file")"); fi
    scan_times+=("$(seconds "${pin[@]}" "$bin" scan --config.file bench/scan/bench.yaml --input "$file" \
      --output /dev/null --progress never --log.level warn)")
  done
  local scan_s
  scan_s=$(printf '%s\n' "${scan_times[@]}" | median)
  printf '%-5s scan: median %.3f s = %.0f MB/s of NDJSON (%.0f lines/s)  [runs: %s]\n' "$fmt" \
    "$scan_s" "$(calc "$bytes / $scan_s / 1000000")" "$(calc "$lines / $scan_s")" \
    "${scan_times[*]}"
  if [ "$fmt" = plain ]; then
    local wc_s
    wc_s=$(printf '%s\n' "${wc_times[@]}" | median)
    printf '%-5s wc -l: median %.3f s = %.0f MB/s  [runs: %s]\n' "$fmt" "$wc_s" \
      "$(calc "$bytes / $wc_s / 1000000")" "${wc_times[*]}"
    printf 'scan/wc throughput ratio: %.2f\n' "$(calc "$wc_s / $scan_s")"
  fi
}
for f in $formats; do run_format "$f"; done
