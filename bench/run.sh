#!/usr/bin/env bash
# One command for the performance evidence (README "Performance"): installs the
# bench packages, builds with the benchmarks, starts a real Kafka broker
# (unless KAFKA_BOOTSTRAP names one), runs the micro-benchmarks, produces the
# workload once and drains it alternately with the raw librdkafka consumer,
# model-auditor and the Python reference; then the scrape and flood
# experiments. Prints the results table and writes it to $BENCH_OUT.
#
#   bench/run.sh                       # 2,000,000 messages, 5 rounds
#   BENCH_MESSAGES=200000 bench/run.sh # quicker
#   bench/run.sh --rounds 9 --flood 0  # extra arguments go to bench/driver.py
#
# Environment: BENCH_MESSAGES (2000000), BENCH_FLOOD (1000000 distinct unknown
# names; 0 skips), BENCH_OUT (bench/results/latest.md), BUILD_DIR (build-bench),
# KAFKA_BOOTSTRAP (use this broker instead of starting one).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "dependencies"
scripts/install-deps.sh --with-bench

step "build (Release-like RelWithDebInfo, benchmarks on)"
export BUILD_DIR=${BUILD_DIR:-build-bench}
scripts/build.sh -DMODEL_AUDITOR_BUILD_BENCH=ON -DMODEL_AUDITOR_BUILD_TESTS=OFF >&2

if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
  step "Apache Kafka broker (KRaft, single node, 127.0.0.1)"
  eval "$(scripts/kafka.sh start)"
  export KAFKA_BOOTSTRAP KAFKA_STATE_DIR
  trap 'scripts/kafka.sh stop "$KAFKA_STATE_DIR" >/dev/null 2>&1 || true' EXIT
fi

step "benchmark against $KAFKA_BOOTSTRAP (load: $(cut -d' ' -f1-3 /proc/loadavg))"
cmd="bench/run.sh${*:+ $*}"
[ -n "${BENCH_MESSAGES:-}" ] && cmd="BENCH_MESSAGES=$BENCH_MESSAGES $cmd"
# Debian's python3 (the confluent-kafka and prometheus-client packages), not
# whatever python3 comes first on PATH.
/usr/bin/python3 bench/driver.py \
  --bootstrap "$KAFKA_BOOTSTRAP" \
  --build-dir "$BUILD_DIR" \
  --messages "${BENCH_MESSAGES:-2000000}" \
  --flood "${BENCH_FLOOD:-1000000}" \
  --out "${BENCH_OUT:-bench/results/latest.md}" \
  --command "$cmd" \
  "$@"
