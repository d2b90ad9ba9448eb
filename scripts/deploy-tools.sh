#!/usr/bin/env bash
# Installs the pinned validators that tests/deploy uses, under the build dir
# (never system-wide), from PyPI and npm. Idempotent: a no-op when the pinned
# versions are already there. Prints the tools directory on stdout.
#
#   kubernetes-validate  PyPI; ships the Kubernetes OpenAPI JSON schemas inside
#                        the wheel, so validation runs offline
#   @kubernetes-models/prometheus-operator
#                        npm; validators generated from prometheus-operator's
#                        API types, for the PodMonitor (a CRD, which
#                        kubernetes-validate has no schema for)
#
# Usage: scripts/deploy-tools.sh [DIR]   (default: ${BUILD_DIR:-build}/deploy-tools)
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VALIDATE_VERSION=1.37.0
PROMETHEUS_OPERATOR_MODELS_VERSION=6.0.0

dir=${1:-${BUILD_DIR:-build}/deploy-tools}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

venv="$dir/venv"
if ! "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -qx "$KUBERNETES_VALIDATE_VERSION"; then
  rm -rf "$venv"
  # Debian's interpreter (python3-venv), not whatever python3 is first on PATH.
  /usr/bin/python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
fi

npm_dir="$dir/npm"
pkg="$npm_dir/node_modules/@kubernetes-models/prometheus-operator/package.json"
if ! grep -q "\"version\": \"$PROMETHEUS_OPERATOR_MODELS_VERSION\"" "$pkg" 2>/dev/null; then
  rm -rf "$npm_dir"
  mkdir -p "$npm_dir"
  # engine-strict off: the package asks for node >= 22 but runs on 18 and 20
  # (its validators are plain ES2022), which is what Debian and CI have.
  (cd "$npm_dir" && npm install --silent --no-audit --no-fund --no-package-lock \
     --engine-strict=false "@kubernetes-models/prometheus-operator@$PROMETHEUS_OPERATOR_MODELS_VERSION" >&2)
fi

echo "$dir"
