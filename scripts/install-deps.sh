#!/usr/bin/env bash
# Installs every Debian package that model-auditor's build, tests and demo need.
# Idempotent: only missing packages are installed, `apt-get update` runs at most
# once (and only when something is missing). Must run as root (or via sudo).
#
# Usage: scripts/install-deps.sh [--build-only] [--with-bench]
#   --build-only   just the toolchain and libraries (deploy/docker/Dockerfile)
#   --with-browser accepted for compatibility: chromium is in the default set
set -euo pipefail

build_packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  # libraries (the required stack)
  librdkafka-dev prometheus-cpp-dev libboost-dev libboost-system-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev catch2 libsimdjson-dev libcli11-dev
  libssl-dev libsystemd-dev zlib1g-dev libzstd-dev
  libcrypt-dev  # libxcrypt: bcrypt for basic auth
)
test_packages=(
  # test services and tools: promtool/prometheus, alertmanager, the Kafka
  # broker's JVM and Maven, kcat for manual poking
  prometheus prometheus-alertmanager default-jre-headless maven kcat
  python3
  # scripts/fuzz.sh: clang with the libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
  # tests/deploy: headless browser for the landing page, a venv for the
  # Kubernetes schema validator (scripts/deploy-tools.sh), systemd-analyze,
  # strace (the unit's SystemCallFilter against the calls the daemon makes)
  chromium python3-venv systemd strace
  # tests/integration/abuse_test.cc: HTTP load on /metrics during a drain;
  # security tests: openssl and curl CLIs (TLS versions, certificate serials)
  wrk openssl
)
# The PodMonitor check runs on Node.js (scripts/deploy-tools.sh); machines
# that already have node and npm keep theirs.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  test_packages+=(nodejs npm)
fi
packages=("${build_packages[@]}" "${test_packages[@]}")

while [ $# -gt 0 ]; do
  case "$1" in
    --build-only) packages=("${build_packages[@]}") ;;
    --with-browser) ;;
    --with-bench) packages+=(libbenchmark-dev python3-confluent-kafka python3-prometheus-client python3-yaml valgrind) ;;
    *) echo "install-deps.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
