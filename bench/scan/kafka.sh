#!/usr/bin/env bash
# Rough topic-scan rate: `model-auditor scan --topic T` against the raw
# consumer rate of `kcat -C -e` on the same topic (same broker, same host).
# Issue 7 owns the real harness; this is the issue 6 sanity check (target:
# scan >= 0.9x the raw rate).
#
#   KAFKA_BOOTSTRAP=127.0.0.1:9092 bench/scan/kafka.sh [SIZE_MB]   # default 256
#
# Produces the generated call log (gen_calls.py) once into a fresh 3-partition
# topic with kcat, then times REPEAT (3) runs of each reader; prints medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP (eval \"\$(scripts/kafka.sh start)\")}"
size_mb=${1:-256}
repeat=${REPEAT:-3}
bin=${MODEL_AUDITOR:-build/model-auditor}
dir=${BENCH_DIR:-/tmp/model-auditor-bench}
mkdir -p "$dir"
file="$dir/calls-${size_mb}MB.ndjson"
[ -s "$file" ] || python3 bench/scan/gen_calls.py "$file" "$size_mb"
topic="scan-bench-$$"
scripts/kafka.sh create-topic "$KAFKA_BOOTSTRAP" "$topic" 3 >/dev/null
lines=$(wc -l <"$file")
echo "producing $lines messages ($(stat -c %s "$file") bytes) to $topic ..."
kcat -P -b "$KAFKA_BOOTSTRAP" -t "$topic" -X queue.buffering.max.kbytes=1048576 -X linger.ms=20 -l "$file"
cfg="$dir/kafka-bench.yaml"
cat >"$cfg" <<YAML
kafka: {brokers: "$KAFKA_BOOTSTRAP"}
registry: {file: $(pwd)/config/registry.yaml}
extraction:
  - topics: "*"
    sources: [{header: X-Model-Name}, {json_pointer: /model_name}, {json_pointer: /model}, {json_pointer: /request/model}]
YAML
seconds() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# The floor: issue 7's raw librdkafka consumer (poll + destroy), built with
# -DMODEL_AUDITOR_BUILD_BENCH=ON; a fresh group per run so it reads everything.
raw=${RAW_CONSUMER:-$(dirname "$bin")/bench/bench_raw_consumer}
k=() s=() r=()
for i in $(seq "$repeat"); do
  k+=("$(seconds kcat -C -b "$KAFKA_BOOTSTRAP" -t "$topic" -o beginning -e -q -f '%o\n')")
  s+=("$(seconds "$bin" scan --config.file "$cfg" --topic "$topic" --output /dev/null --progress never)")
  if [ -x "$raw" ]; then
    r+=("$(seconds "$raw" "$KAFKA_BOOTSTRAP" "$topic" "scan-bench-raw-$$-$i" "$lines")")
  fi
done
km=$(printf '%s\n' "${k[@]}" | median)
sm=$(printf '%s\n' "${s[@]}" | median)
awk -v n="$lines" -v k="$km" -v s="$sm" -v kr="${k[*]}" -v sr="${s[*]}" 'BEGIN {
  printf "kcat -C -e : median %.2f s = %.0f msgs/s  [runs: %s]\n", k, n / k, kr
  printf "scan       : median %.2f s = %.0f msgs/s  [runs: %s]\n", s, n / s, sr
  printf "scan / kcat rate: %.2f\n", k / s }'
if [ ${#r[@]} -gt 0 ]; then
  rm_=$(printf '%s\n' "${r[@]}" | median)
  awk -v n="$lines" -v r="$rm_" -v s="$sm" -v rr="${r[*]}" 'BEGIN {
    printf "raw group consumer: median %.2f s = %.0f msgs/s  [runs: %s]\n", r, n / r, rr
    printf "scan / raw rate: %.2f (target >= 0.90)\n", r / s }'
else
  echo "(no raw consumer at $raw: build with -DMODEL_AUDITOR_BUILD_BENCH=ON for the scan / raw ratio)"
fi
