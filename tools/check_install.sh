#!/usr/bin/env bash
# Runs the README's install steps exactly as a new user would, and builds against the result:
#
#   bash tools/check_install.sh
#
# In a fresh copy of the source tree (no build/, as after `git clone`), each README block marked
# `<!-- checked: install-full -->` and `<!-- checked: install-headers -->` is run as written, with
# one change: its prefix, /usr/local, becomes a scratch directory. Then:
#   install-full     the installed `keyward --version` is the project's version, and
#                    `cmake --build --preset tools --target keyward` (tools/demo.sh's build) builds
#                    the tool;
#   install-headers  nothing was compiled or looked for beyond the compiler: no tool installed,
#                    no GTest or Google Benchmark searched;
# and for both, tests/cmake_import is built and run against the prefix with CMake
# (find_package) and with Make (pkg-config, the README's flag lines).
#
# KEYWARD_INSTALL_COPY=DIR makes the fresh copy in DIR (a new directory) and leaves it there, with
# the tools preset built in it: tools/test.sh hands it to tools/check_package.sh, whose
# install-deb-tools block then packages that build instead of building the tool again.
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KEYWARD_ROOT"

JOBS=${JOBS:-2}
keyward_ensure g++=g++ cmake=cmake ninja=ninja-build git=git make=make pkg-config=pkgconf
keyward_check_cmake

version=$(keyward_project_version)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/keyward-install.XXXXXX")
# shellcheck disable=SC2064 # expand $scratch now
trap "rm -rf '$scratch'" EXIT

# run_readme_block NAME PREFIX: runs the README block NAME in the source copy, /usr/local -> PREFIX.
run_readme_block() {
  local name=$1 prefix=$2 block
  block=$(keyward_readme_block "$name")
  grep -q -- '--prefix /usr/local$' <<<"$block" ||
    keyward_die "README block $name no longer installs with --prefix /usr/local; update" \
      "tools/check_install.sh to match what the README tells users"
  block=${block//\/usr\/local/$prefix}
  keyward_banner "README block $name, run as written in a fresh copy (prefix $prefix)"
  printf '%s\n' "$block" | sed 's/^/  $ /'
  # CMAKE_BUILD_PARALLEL_LEVEL sets the -j of `cmake --build` without changing the command.
  (cd "$src" && CMAKE_BUILD_PARALLEL_LEVEL=$JOBS bash -euxo pipefail -c "$block")
}

keyward_banner "fresh copy of the source tree"
src=${KEYWARD_INSTALL_COPY:-$scratch/src}
[[ ! -e $src ]] || keyward_die "KEYWARD_INSTALL_COPY=$src exists: name a new directory"
keyward_source_copy "$src"
echo "$(find "$src" -type f | wc -l) files in $src"

# --- everything: headers, CMake package, keyward.pc, the tool ---------------------------------
full=$scratch/full
run_readme_block install-full "$full"
for f in include/keyward/keyward.hpp share/cmake/keyward/keywardConfig.cmake \
  share/cmake/keyward/keywardConfigVersion.cmake share/pkgconfig/keyward.pc bin/keyward; do
  [[ -f $full/$f ]] || keyward_die "install-full did not install $f"
done
# The tool's CMake target is named as its binary: a user's `--target keyward` builds it.
(cd "$src" && cmake --build --preset tools --target keyward >/dev/null) ||
  keyward_die "cmake --build --preset tools --target keyward failed: the tool's target is not" \
    "named keyward"
echo "cmake --build --preset tools --target keyward: ok"
got=$("$full/bin/keyward" --version)
echo "installed tool: $got"
[[ $got == "keyward $version" ]] || keyward_die "keyward --version says '$got', not 'keyward $version'"
keyward_check_consumers "$scratch/consumer-full" "$full"

# --- headers only ------------------------------------------------------------------------------
headers=$scratch/headers
run_readme_block install-headers "$headers"
for f in include/keyward/keyward.hpp share/cmake/keyward/keywardConfig.cmake \
  share/pkgconfig/keyward.pc; do
  [[ -f $headers/$f ]] || keyward_die "install-headers did not install $f"
done
[[ ! -e $headers/bin ]] || keyward_die "install-headers installed $(ls "$headers/bin")"
build_dir=$(keyward_readme_block install-headers | sed -n 's/^cmake --install \([^ ]*\) .*$/\1/p')
cache=$src/$build_dir/CMakeCache.txt
[[ -n $build_dir && -f $cache ]] || keyward_die "install-headers left no CMakeCache.txt in '$build_dir'"
echo "headers build: $cache"
if grep -E '^(GTest|GMock|benchmark|Python3)_' "$cache"; then
  keyward_die "install-headers looked for a dependency it does not need (above)"
fi
if find "$(dirname "$cache")" -name '*.o' | grep -q .; then
  keyward_die "install-headers compiled something"
fi
keyward_check_consumers "$scratch/consumer-headers" "$headers"

keyward_banner "README install steps: ok (keyward $version; tool, CMake and pkg-config consumers)"
