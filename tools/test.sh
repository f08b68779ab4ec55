#!/usr/bin/env bash
# keyward's one test command (also what CI runs via .ci/run):
#
#   bash tools/test.sh
#
# Installs what is missing (Debian/apt, needs root; step 1 also npm proper-lockfile 4.1.2 in
# build/npm for the seed-lock seam test), then runs, stopping at the first failure:
#   1. the README's quick test command, tools/dev-test.sh: the dev preset (g++, Debug, -Werror):
#      configure, build (incl. header check), ctest (incl. the examples and the guides' programs,
#      examples/guides/*.cpp)
#   2. asan preset (clang++, -Werror, ASan+UBSan; not -fsanitize=function, which clang 14 cannot
#      emit for a coroutine: "Cannot represent a difference across sections"): build, ctest (no
#      header check: steps 1 and 7 cover it; no examples: they run the library's code, which the
#      tests run here, and step 1 runs them); so the tests run under both compilers, one of them
#      sanitized
#   3. tsan preset (g++, TSan): build, ctest, over the test files that start threads, processes or
#      servers (KEYWARD_TESTS_THREADED_ONLY: a file that runs one thread cannot race); not the
#      examples or the tool: their threads run library code those tests already race
#   4. clang-format --dry-run --Werror over include/ tests/ examples/ bench/ tools/
#   5. the README's C++ example is checked against examples/quickstart.cpp, docs/async.md's
#      against examples/async_quickstart.cpp, and each guide in
#      docs/guides/ against its program in examples/guides/ (tools/check_guides.sh: the guide
#      shows the whole program, in order)
#   5b. every shell block of docs/*.md and docs/guides/*.md marked `<!-- runnable -->` runs as
#      written from the dev build tree (tools/check_doc_commands.sh)
#   6. the API reference (tools/check_api_docs.sh): Doxygen over the public headers with
#      docs/Doxyfile into build/api-docs; any warning, an undocumented public declaration above
#      all, fails
#   7. every public header, the README's example and the guides' programs compile under a user's
#      -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror on g++ and clang++
#      (tools/check_user_flags.sh)
#   8. clang-tidy over the header-check TUs of the headers no other header includes (which reach
#      every public header: tools/header_roots.py), examples/*.cpp and examples/guides/*.cpp
#   9. tools/fuzz.sh 3: every libFuzzer target for 3 seconds
#  10. bench/run --short: fails on an allocation on the hot path or a storm refresh count other
#      than 1; prints the timing ratios without failing on them
#  10b. the OpenClaw interleaving proof (tools/openclaw/proof.sh): npm openclaw 2026.9.6 and
#      Node 24 into build/openclaw (tools/openclaw/install.sh), then OpenClaw's own refresh in
#      two processes and `keyward get --openclaw` (store::OpenClaw) in two more, on one profile,
#      100 interleavings with expiries forced, against a loopback token endpoint that revokes on
#      reuse; and its negative control. About 3 min
#      (plus about 2 min for the first install); skipped with a banner when npm is unreachable
#  11. install (tools/check_install.sh): the README's install blocks (everything; headers only),
#      run as written in a fresh copy of the tree, then tests/cmake_import built against each
#      install with CMake (find_package) and Make (pkg-config)
#  12. packages (tools/check_package.sh): the README's .deb block run as written (cpack, apt-get
#      install), the same consumers against the installed package; keyward-tools (the tool's
#      .deb, `cpack --preset debs`) checked, installed with dpkg -i and its `keyward` run; the
#      source tarball; both packages are removed again. Run in step 11's fresh copy, whose
#      Release build of the tool (the README's install-full block) it packages
# and ends with "N passed, 0 failed".
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KEYWARD_ROOT"

JOBS=2

keyward_ensure \
  g++=g++ cmake=cmake ninja=ninja-build clang++=clang clang-format=clang-format \
  clang-tidy=clang-tidy git=git python3=python3 make=make pkg-config=pkgconf doxygen=doxygen \
  libclang-rt-14-dev libgtest-dev libgmock-dev libbenchmark-dev libcurl4-openssl-dev \
  libasio-dev libcpp-httplib-dev libssl-dev libhiredis-dev libsqlite3-dev redis-server=redis-server
keyward_check_cmake

# Prefer the versioned LLVM 14 tools: formatting must not change with whatever `clang-format`
# happens to point to.
CLANG_FORMAT=$(command -v clang-format-14 || command -v clang-format)
CLANG_TIDY=$(command -v clang-tidy-14 || command -v clang-tidy)

# ---------------------------------------------------------------------------------------------
# Step bookkeeping: banner per step, duration, summary. A failing command anywhere ends the
# script (set -e); the EXIT trap then names the step that failed.
# ---------------------------------------------------------------------------------------------
declare -a STEP_NAMES=() STEP_TIMES=()
CURRENT_STEP=""
STEP_START=0
TOTAL_START=$SECONDS

print_summary() {
  local i
  printf '\n==== summary ====\n'
  for i in "${!STEP_NAMES[@]}"; do
    printf '  PASS  %-34s %4ss\n' "${STEP_NAMES[$i]}" "${STEP_TIMES[$i]}"
  done
}

# on_exit [STATUS]: STATUS defaults to the status the script is exiting with.
on_exit() {
  local rc=${1:-$?}
  if ((rc != 0)) && [[ -n $CURRENT_STEP ]]; then
    print_summary
    printf '  FAIL  %-34s %4ss (exit %s)\n' "$CURRENT_STEP" "$((SECONDS - STEP_START))" "$rc"
    printf '\n%s passed, 1 failed\n' "${#STEP_NAMES[@]}"
  fi
}
trap on_exit EXIT

begin_step() {
  CURRENT_STEP=$1
  STEP_START=$SECONDS
  keyward_banner "step $((${#STEP_NAMES[@]} + 1)): $1"
}

end_step() {
  STEP_NAMES+=("$CURRENT_STEP")
  STEP_TIMES+=("$((SECONDS - STEP_START))")
  printf -- '---- %s: ok (%ss)\n' "$CURRENT_STEP" "$((SECONDS - STEP_START))"
  CURRENT_STEP=""
}

# Sanitizer runs and ASLR: on kernels with high mmap entropy (vm.mmap_rnd_bits=32, e.g. some
# Debian 12 / newer kernels) GCC 12's TSan aborts with "FATAL: ThreadSanitizer: unexpected memory
# mapping" and ASan can hang in an endless DEADLYSIGNAL loop. Running with ASLR disabled for that
# process tree (`setarch <arch> -R`, inherited by ninja's children and by ctest's tests) avoids
# both; it changes nothing else. The build is wrapped too, because gtest_discover_tests runs the
# test binary right after linking it.
SAN_WRAP=()
if setarch "$(uname -m)" -R true >/dev/null 2>&1; then
  SAN_WRAP=(setarch "$(uname -m)" -R)
fi

preset_build_and_test() {
  local preset=$1
  shift
  cmake --preset "$preset"
  "$@" cmake --build --preset "$preset" -j"$JOBS"
  "$@" ctest --preset "$preset"
}

# ---------------------------------------------------------------------------------------------
begin_step "dev (g++ Debug -Werror): bash tools/dev-test.sh"
KEYWARD_JOBS=$JOBS bash tools/dev-test.sh
end_step

# ---------------------------------------------------------------------------------------------
begin_step "asan (clang++ -Werror, ASan+UBSan)"
echo "vm.mmap_rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo '?');" \
  "sanitizer wrapper: ${SAN_WRAP[*]:-none (setarch -R not permitted here)}"
preset_build_and_test asan "${SAN_WRAP[@]}"
end_step

# ---------------------------------------------------------------------------------------------
# TSAN_OPTIONS (CMakePresets.json) has ignore_noninstrumented_modules=1: Debian's libcurl and
# libcpp-httplib are not built with TSan, so races its interceptors see inside them (whose own
# atomics it cannot see) say nothing about keyward; races in keyward's code are still reported.
begin_step "tsan (TSan)"
preset_build_and_test tsan "${SAN_WRAP[@]}"
end_step

# ---------------------------------------------------------------------------------------------
begin_step "clang-format"
# Tracked files plus new, not-yet-added ones (but not ignored ones such as build/), so a developer
# is told before committing; in CI's fresh clone that is exactly the tracked files.
declare -a fmt_files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  while IFS= read -r -d '' f; do
    [[ -f $f ]] && fmt_files+=("$f")
  done < <(git ls-files -z --cached --others --exclude-standard -- \
    'include/*.hpp' 'include/*.ipp' 'include/*.cpp' 'tests/*.hpp' 'tests/*.cpp' 'examples/*.hpp' \
    'examples/*.cpp' 'bench/*.hpp' 'bench/*.cpp' 'tools/*.hpp' 'tools/*.cpp' \
    'fuzz/*.hpp' 'fuzz/*.cpp' | sort -zu)
else
  while IFS= read -r -d '' f; do
    fmt_files+=("$f")
  done < <(find include tests examples bench tools fuzz -type f \( -name '*.hpp' -o -name '*.ipp' -o -name '*.cpp' \) \
    -print0 2>/dev/null | sort -z)
fi
echo "$("$CLANG_FORMAT" --version | head -n1): ${#fmt_files[@]} files"
if ((${#fmt_files[@]} > 0)); then
  "$CLANG_FORMAT" --dry-run --Werror "${fmt_files[@]}"
fi
end_step

# ---------------------------------------------------------------------------------------------
begin_step "README example is real code"
bash tools/check_readme.sh
bash tools/check_readme.sh docs/async.md examples/async_quickstart.cpp
bash tools/check_guides.sh
# What users read cites the project's own documents, never the team's internal brief or notes.
if grep -rnE '\bBRIEF section|shared/(notes|fixtures|seed)' include tests tools examples bench \
  docs README.md CHANGELOG.md --exclude=test.sh; then
  keyward_die "the lines above cite documents users do not have; cite docs/ instead"
fi
end_step

# ---------------------------------------------------------------------------------------------
begin_step "documents' runnable commands"
bash tools/check_doc_commands.sh
end_step

# ---------------------------------------------------------------------------------------------
begin_step "API reference (doxygen, warnings are errors)"
bash tools/check_api_docs.sh
end_step

# ---------------------------------------------------------------------------------------------
begin_step "a user's warnings (g++ and clang++, -Wall -Wextra -Wpedantic ... -Werror)"
bash tools/check_user_flags.sh
end_step

# ---------------------------------------------------------------------------------------------
begin_step "clang-tidy"
# The header-check TUs of the headers no other header includes (tools/header_roots.py): together
# they include every public header, so each header's code is checked once, not once per includer.
declare -a tidy_files=()
while IFS= read -r h; do
  f=$PWD/build/dev/header_check/$h.cpp
  [[ -f $f ]] || keyward_die "no header-check TU $f: step 1 builds them (KEYWARD_HEADER_CHECK=ON)"
  tidy_files+=("$f")
done < <(python3 tools/header_roots.py include)
for f in examples/*.cpp examples/guides/*.cpp; do
  [[ -f $f ]] && tidy_files+=("$PWD/$f")
done
echo "$("$CLANG_TIDY" --version | grep -m1 -i version | sed 's/^ *//'): ${#tidy_files[@]} files"
if ((${#tidy_files[@]} > 0)); then
  # asio 1.22 sees coroutines in clang only through <experimental/coroutine>, which libstdc++
  # lacks: ASIO_HAS_CO_AWAIT tells it they are there (examples/async_quickstart.cpp's co_await).
  # One clang-tidy per file, $JOBS at a time; each file's output is printed in one piece, and
  # only when it has findings. xargs exits non-zero if any of them failed.
  # shellcheck disable=SC2016 # the script is expanded by the inner bash
  printf '%s\0' "${tidy_files[@]}" |
    xargs -0 -n1 -P"$JOBS" bash -c '
      if out=$("$0" -p build/dev --quiet --extra-arg=-DASIO_HAS_CO_AWAIT=1 "$1" 2>&1); then
        printf "ok    %s\n" "${1#"$PWD"/}"
      else
        printf "FAIL  %s\n%s\n" "${1#"$PWD"/}" \
          "$(grep -vE "^[0-9]+ (warnings?|errors?)( and [0-9]+ (warnings?|errors?))? generated\.\$" <<<"$out")"
        exit 1
      fi' "$CLANG_TIDY"
fi
end_step

# ---------------------------------------------------------------------------------------------
begin_step "fuzz (3 s per target)"
bash tools/fuzz.sh 3
end_step

# ---------------------------------------------------------------------------------------------
begin_step "bench (short pass)"
bash bench/run --short
end_step

# ---------------------------------------------------------------------------------------------
begin_step "OpenClaw interleaving proof"
# Each keyward participant is the dev build's tool, once per round: one `keyward get` through
# store::OpenClaw, OpenClaw's lock and fence, beside OpenClaw's own refresh.
# shellcheck disable=SC2016 # expanded by the participant's shell, not here
keyward_get='exec:"$KEYWARD_TOOL" get "$KEYWARD_PROOF_ORIGIN/v1/models" --openclaw "$OPENCLAW_STATE_DIR" --profile "$KEYWARD_PROOF_PROFILE" --client-id keyward-proof --token-url "$KEYWARD_PROOF_TOKEN_URL" >/dev/null'
KEYWARD_TOOL=$PWD/build/dev/tools/cli/keyward bash tools/openclaw/proof.sh \
  --participant openclaw --participant openclaw \
  --participant "$keyward_get" --participant "$keyward_get"
end_step

# ---------------------------------------------------------------------------------------------
# The two steps share one fresh copy of the tree, and so one Release build of the tool: the
# install step builds it as the README's install-full block says, the packages step packages it.
install_copy=$(mktemp -d "${TMPDIR:-/tmp}/keyward-copy.XXXXXX")
trap 'rc=$?; rm -rf "$install_copy"; on_exit "$rc"' EXIT
begin_step "install (README steps, consumers)"
JOBS=$JOBS KEYWARD_INSTALL_COPY=$install_copy/src bash tools/check_install.sh
end_step

# ---------------------------------------------------------------------------------------------
begin_step "packages (.debs, source tarball)"
JOBS=$JOBS KEYWARD_PACKAGE_COPY=$install_copy/src bash tools/check_package.sh
end_step

# ---------------------------------------------------------------------------------------------
print_summary
printf '  total %37ss\n' "$((SECONDS - TOTAL_START))"
printf '\n%s passed, 0 failed\n' "${#STEP_NAMES[@]}"
