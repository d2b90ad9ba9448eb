#!/usr/bin/env bash
# Command 2 of the README (and all that .ci/run does): installs what is
# missing, builds with -Werror, starts a real single-node Apache Kafka broker
# (unless KAFKA_BOOTSTRAP names one), and runs every test suite.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -L unit    # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh --with-browser

step "build (warnings are errors)"
BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh -DMODEL_AUDITOR_WERROR=ON -DMODEL_AUDITOR_BUILD_TESTS=ON

if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
  step "Apache Kafka broker (KRaft, single node, 127.0.0.1)"
  kafka_env=$(scripts/kafka.sh start)
  eval "$kafka_env"
  export KAFKA_BOOTSTRAP KAFKA_STATE_DIR
  trap 'scripts/kafka.sh stop "$KAFKA_STATE_DIR" >/dev/null 2>&1 || true' EXIT
fi
echo "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP"

step "tests"
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --no-tests=error "$@"
