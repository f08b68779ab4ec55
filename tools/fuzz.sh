#!/usr/bin/env bash
# Builds keyward's libFuzzer targets (fuzz/) with clang++ and runs each one:
#
#   bash tools/fuzz.sh [SECONDS_PER_TARGET]     # default 10
#
# Each target fuzzes a scratch copy of its seed corpus (fuzz/corpus/<target>/), so the checked-in
# corpus stays small and reviewed; what a run adds stays in build/fuzz/run/<target>/corpus/.
# Any crash, sanitizer report, broken invariant, leak or slow input fails the script; the input
# that caused it is kept as build/fuzz/run/<target>/crash-* (or leak-*, timeout-*).
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KEYWARD_ROOT"

SECONDS_PER_TARGET=${1:-10}
[[ $SECONDS_PER_TARGET =~ ^[1-9][0-9]*$ ]] ||
  keyward_die "usage: tools/fuzz.sh [SECONDS_PER_TARGET] (a positive integer, got '$1')"
TARGETS=(json_fuzz http_date_fuzz retry_after_fuzz www_authenticate_fuzz wait_formats_fuzz
  jwt_fuzz classifier_fuzz url_fuzz url_curl_fuzz file_store_fuzz scrub_fuzz)
BUILD=build/fuzz

keyward_ensure cmake=cmake ninja=ninja-build clang++=clang libclang-rt-14-dev libcurl4-openssl-dev
keyward_check_cmake

# Same reason as in tools/test.sh: ASan can hang on kernels with high mmap entropy unless ASLR is
# off for the process.
SAN_WRAP=()
if setarch "$(uname -m)" -R true >/dev/null 2>&1; then
  SAN_WRAP=(setarch "$(uname -m)" -R)
fi

keyward_banner "configure and build $BUILD (clang++)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DKEYWARD_WERROR=ON \
  -DKEYWARD_BUILD_FUZZERS=ON -DKEYWARD_BUILD_TESTS=OFF -DKEYWARD_BUILD_EXAMPLES=OFF \
  -DKEYWARD_BUILD_TOOLS=OFF
cmake --build "$BUILD" -j2

declare -a summary=()
for target in "${TARGETS[@]}"; do
  binary=$BUILD/fuzz/$target
  [[ -x $binary ]] || keyward_die "$binary was not built: is add_subdirectory(fuzz) in" \
    "CMakeLists.txt, before the early return() taken when tests and examples are off?"
  [[ -d fuzz/corpus/$target ]] || keyward_die "no seed corpus fuzz/corpus/$target"

  work=$BUILD/run/$target
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp fuzz/corpus/"$target"/* "$work/corpus/"

  keyward_banner "$target: ${SECONDS_PER_TARGET}s"
  # -timeout: every parser is linear, so one input taking seconds is a bug too.
  if ! "${SAN_WRAP[@]}" "$binary" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
    -timeout=10 -artifact_prefix="$work/" "$work/corpus" 2>&1 | tee "$work/log"; then
    keyward_die "$target failed; see $work/log and the input saved in $work/"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n1)
  summary+=("$(printf '%-24s %12s runs' "$target" "${runs:-?}")")
done

keyward_banner "fuzz summary (${SECONDS_PER_TARGET}s per target)"
printf '  PASS  %s\n' "${summary[@]}"
