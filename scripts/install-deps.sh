#!/usr/bin/env bash
# Installs every Debian package that model-auditor's build, tests and demo need.
# Idempotent: only missing packages are installed, `apt-get update` runs at most
# once (and only when something is missing). Must run as root (or via sudo).
#
# Usage: scripts/install-deps.sh [--with-browser] [--with-bench]
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  # libraries (the required stack)
  librdkafka-dev prometheus-cpp-dev libboost-dev libboost-system-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev catch2 libsimdjson-dev libcli11-dev
  libssl-dev libsystemd-dev zlib1g-dev libzstd-dev
  # test services and tools: promtool/prometheus, alertmanager, the Kafka
  # broker's JVM and Maven, kcat for manual poking
  prometheus prometheus-alertmanager default-jre-headless maven kcat
  python3
)

while [ $# -gt 0 ]; do
  case "$1" in
    --with-browser) packages+=(chromium) ;;
    --with-bench) packages+=(libbenchmark-dev python3-confluent-kafka python3-prometheus-client valgrind) ;;
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
