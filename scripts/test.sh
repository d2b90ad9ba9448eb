#!/usr/bin/env bash
# Command 2 of the README (and all that .ci/run does): installs what is
# missing, builds with -Werror, starts a real single-node Apache Kafka broker
# (unless KAFKA_BOOTSTRAP names one), and runs every test suite; then builds a
# second tree with ASan+UBSan (build-asan) and runs the unit and integration
# suites in it against the same broker, and fuzzes each parser for 60 s
# (scripts/fuzz.sh, build-fuzz).
#
#   scripts/test.sh                        # everything (CI)
#   scripts/test.sh -L unit                # extra arguments go to the first ctest run
#   MODEL_AUDITOR_QUICK=1 scripts/test.sh  # skip the sanitizer and fuzzing stages
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
quick=${MODEL_AUDITOR_QUICK:-0}

# Each stage's wall time, summed up at the end (README "Fuzzing and sanitizers").
timings=()
stage_name=""
stage_start=0
step() {
  end_stage
  stage_name=$*
  stage_start=$(date +%s)
  printf '\n==> %s\n' "$*"
}
end_stage() {
  if [ -n "$stage_name" ]; then
    timings+=("$(printf '%5ss  %s' $(($(date +%s) - stage_start)) "$stage_name")")
  fi
  stage_name=""
}
suite_start=$(date +%s)

step "dependencies"
scripts/install-deps.sh --with-browser

step "build (warnings are errors)"
BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh -DMODEL_AUDITOR_WERROR=ON -DMODEL_AUDITOR_BUILD_TESTS=ON \
  -DMODEL_AUDITOR_FUZZ_REPLAY=ON

if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
  step "Apache Kafka broker (KRaft, single node, 127.0.0.1)"
  kafka_env=$(scripts/kafka.sh start)
  eval "$kafka_env"
  export KAFKA_BOOTSTRAP KAFKA_STATE_DIR
  trap 'scripts/kafka.sh stop "$KAFKA_STATE_DIR" >/dev/null 2>&1 || true' EXIT
fi
echo "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP"

step "tests"
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --no-tests=error "$@")

if [ "$quick" != 1 ]; then
  # gcc, -O1: a sanitizer build that still runs the integration suites at a
  # useful speed. Tests that spawn the daemon take the binary of this tree.
  # No -Werror here: the tree above enforces warnings, and gcc 12 at -O1 with
  # sanitizers raises false -Wmaybe-uninitialized inside libstdc++'s <regex>.
  step "sanitizer build (gcc, ASan+UBSan, build-asan)"
  BUILD_DIR=build-asan scripts/build.sh -DMODEL_AUDITOR_WERROR=OFF -DMODEL_AUDITOR_BUILD_TESTS=ON \
    -DMODEL_AUDITOR_SANITIZE=ON -DMODEL_AUDITOR_FUZZ_REPLAY=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g"

  # deploy.systemd.syscalls runs the daemon under strace, where LeakSanitizer
  # cannot work (it needs ptrace itself); it checks the production binary's
  # system calls, which the first run already does.
  # The throughput-ratio test (wrk) measures speed, which ASan distorts; the
  # strace test cannot run under LeakSanitizer. Both run in the normal tree.
  step "unit and integration tests under ASan+UBSan (build-asan)"
  (cd build-asan &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure --no-tests=error -L 'unit|integration' -E '^deploy\.systemd\.syscalls$|^wrk -c200')

  step "fuzz build (clang, libFuzzer + ASan + UBSan, build-fuzz)"
  scripts/fuzz.sh --build-only

  step "fuzzing: extract, config, registry, 60 s each (scripts/fuzz.sh)"
  scripts/fuzz.sh
fi
end_stage

printf '\n==> stage times (total %ss)\n' $(($(date +%s) - suite_start))
printf '%s\n' "${timings[@]}"
