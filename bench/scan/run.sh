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
# "wall cpu" seconds of one run of "$@" (cpu = user + sys: what one core spent,
# steadier than wall time on a shared machine).
seconds() {
  local TIMEFORMAT='%R %U %S' t
  t=$({ time "$@" >/dev/null 2>&1; } 2>&1)
  awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.4f %.4f", a[1], a[2] + a[3] }'
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
  local wc_wall=() wc_cpu=() scan_wall=() scan_cpu=() t
  for _ in $(seq "$repeat"); do
    if [ "$fmt" = plain ]; then
      t=$(seconds "${pin[@]}" wc -l "$file")
      wc_wall+=("${t% *}") wc_cpu+=("${t#* }")
    fi
    t=$(seconds "${pin[@]}" "$bin" scan --config.file bench/scan/bench.yaml --input "$file" \
      --output /dev/null --progress never --log.level warn)
    scan_wall+=("${t% *}") scan_cpu+=("${t#* }")
  done
  local sw sc
  sw=$(printf '%s\n' "${scan_wall[@]}" | median)
  sc=$(printf '%s\n' "${scan_cpu[@]}" | median)
  printf '%-5s scan : median wall %.3f s = %4.0f MB/s, cpu %.3f s = %4.0f MB/s (%.0f lines/s)  [wall: %s]\n' \
    "$fmt" "$sw" "$(calc "$bytes / $sw / 1000000")" "$sc" "$(calc "$bytes / $sc / 1000000")" \
    "$(calc "$lines / $sw")" "${scan_wall[*]}"
  if [ "$fmt" = plain ]; then
    local ww wcc
    ww=$(printf '%s\n' "${wc_wall[@]}" | median)
    wcc=$(printf '%s\n' "${wc_cpu[@]}" | median)
    printf '%-5s wc -l: median wall %.3f s = %4.0f MB/s, cpu %.3f s = %4.0f MB/s  [wall: %s]\n' \
      "$fmt" "$ww" "$(calc "$bytes / $ww / 1000000")" "$wcc" "$(calc "$bytes / $wcc / 1000000")" \
      "${wc_wall[*]}"
    printf 'scan/wc throughput ratio: wall %.2f, cpu %.2f\n' "$(calc "$ww / $sw")" "$(calc "$wcc / $sc")"
  fi
}
for f in $formats; do run_format "$f"; done
