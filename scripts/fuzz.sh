#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan+UBSan) into ./build-fuzz and runs
# each for a while on a scratch copy of its committed seed corpus. Any crash,
# sanitizer report, broken harness check, timeout or OOM fails the script; the
# input is kept under build-fuzz/artifacts/ and printed (path and hex).
#
#   scripts/fuzz.sh                  # every harness, 60 s each (what CI runs)
#   scripts/fuzz.sh -t 600 extract   # one harness, 10 minutes
#   scripts/fuzz.sh --build-only
#
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_SECONDS (60).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
build_only=0
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    -t) seconds=$2; shift ;;
    --build-only) build_only=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    extract|config|registry) names+=("$1") ;;
    *) echo "fuzz.sh: unknown argument '$1' (harnesses: extract config registry)" >&2; exit 2 ;;
  esac
  shift
done
[ ${#names[@]} -gt 0 ] || names=(extract config registry)

step() { printf '\n==> %s\n' "$*"; }

step "fuzz build (clang, libFuzzer + ASan + UBSan, $build_dir)"
targets=()
for n in "${names[@]}"; do targets+=("${n}_fuzzer"); done
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DMODEL_AUDITOR_FUZZ=ON \
  -DMODEL_AUDITOR_BUILD_TESTS=OFF -DMODEL_AUDITOR_WERROR=ON >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}" --target "${targets[@]}"
[ "$build_only" = 1 ] && exit 0

# Per-input bounds: the largest seeds are a few KB; registry documents get
# room for a few hundred models (the NameIndex build grows with each name).
declare -A max_len=([extract]=16384 [config]=8192 [registry]=32768)
artifacts="$root/$build_dir/artifacts"
mkdir -p "$artifacts"
failed=()
for n in "${names[@]}"; do
  step "fuzzing $n for ${seconds} s (ASan+UBSan)"
  work="$root/$build_dir/corpus/$n"   # new inputs land here, never in fuzz/corpus
  mkdir -p "$work"
  log="$root/$build_dir/$n.log"
  rm -f "$artifacts/$n-"*
  set +e
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build_dir/fuzz/${n}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="${max_len[$n]}" -dict=fuzz/dict/"$n".dict -print_final_stats=1 \
    -artifact_prefix="$artifacts/$n-" "$work" "fuzz/corpus/$n" >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|Done )' "$log" || true
  found=$(find "$artifacts" -maxdepth 1 -name "$n-*" -type f | sort)
  if [ $rc -ne 0 ] || [ -n "$found" ]; then
    failed+=("$n")
    echo "fuzz.sh: $n FAILED (exit $rc); log: $log" >&2
    grep -E -A40 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|fuzz contract broken|uncaught exception|terminate called' "$log" | head -80 >&2 || true
    for f in $found; do
      echo "fuzz.sh: input kept at $f ($(wc -c <"$f") bytes); replay: $build_dir/fuzz/${n}_fuzzer $f" >&2
      od -A x -t x1z -v "$f" | head -64 >&2
    done
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${names[*]}: no findings in ${seconds} s each"
