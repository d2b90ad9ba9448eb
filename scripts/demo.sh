#!/usr/bin/env bash
# Command 1 of the README: installs what is missing, builds, and runs the live
# demo (an in-process mock Kafka cluster with realistic traffic feeding the
# ordinary consumer path). Open the printed URL; Ctrl-C stops it.
#
#   scripts/demo.sh [--rate N] [--web.listen-address HOST:PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
scripts/build.sh -DMODEL_AUDITOR_BUILD_TESTS=OFF
exec ./build/model-auditor demo --config.file config/demo.yaml "$@"
