#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy at the root) over lib/ and daemon/ using the
# compile database of ./build. Exit 1 if it reports anything.
#   scripts/lint.sh [FILE...]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-tidy >/dev/null || { echo "lint: installing clang-tidy"; apt-get install -y -qq clang-tidy >/dev/null; }
[ -f build/compile_commands.json ] || scripts/build.sh >/dev/null
files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(ls lib/*/*.cc daemon/*.cpp)
out=$(printf '%s\n' "${files[@]}" | xargs -P2 -n4 clang-tidy -p build --quiet --extra-arg=-Wno-gnu-statement-expression 2>/dev/null | grep -E '(warning|error):' | sort -u || true)
if [ -n "$out" ]; then
  echo "$out"
  echo "lint: $(echo "$out" | wc -l) finding(s)"
  exit 1
fi
echo "lint: clean (${#files[@]} files)"
