#!/usr/bin/env bash
# Builds keyward's packages and uses them as a packager or a Debian user would:
#
#   bash tools/check_package.sh      # as root (installs the .deb, then removes it)
#
# In a fresh copy of the source tree (as after `git clone`):
#   1. the README block `<!-- checked: install-deb -->`, run as written: configures the `headers`
#      preset, makes the .deb with `cpack --preset deb` and installs it with apt-get;
#   2. the .deb's metadata (Package keyward, the project's version, Architecture all) and
#      contents (headers, CMake package, keyward.pc under /usr; no tool);
#   3. tests/cmake_import built against the installed package: CMake find_package(keyward) and
#      Make with pkg-config, both with no path given, as on a user's machine;
#   3b. keyward-tools, in the copy: the README block `<!-- checked: install-deb-tools -->` run as
#      written if the README has one, else `cmake --preset tools`, its build, `cpack --preset
#      debs` and `dpkg -i` (apt-get install -f for the Depends); the .deb is Architecture <this
#      machine's>, holds /usr/bin/keyward only, and its Depends names the package of every
#      library the binary needs (readelf NEEDED, dpkg -S); the installed `keyward --help` and
#      one `keyward classify` of a test fixture run;
#   4. the source tarball (`cpack --preset source`): every file of the tree and nothing of
#      build/ or .git; unpacked, it configures and installs;
#   5. both packages removed again (also when a step fails), leaving none of their files behind.
# KEYWARD_PACKAGE_COPY=DIR runs it all in DIR, a fresh copy tools/check_install.sh made and built
# the tools preset in (KEYWARD_INSTALL_COPY; tools/test.sh does so: one build of the tool for both).
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KEYWARD_ROOT"

JOBS=${JOBS:-2}
keyward_ensure g++=g++ cmake=cmake ninja=ninja-build git=git make=make pkg-config=pkgconf \
  dpkg-deb=dpkg apt-get=apt dpkg-shlibdeps=dpkg-dev readelf=binutils
keyward_check_cmake

version=$(keyward_project_version)
deb_name=keyward_${version}_all.deb
installed_files=(/usr/include/keyward/keyward.hpp /usr/share/cmake/keyward/keywardConfig.cmake
  /usr/share/pkgconfig/keyward.pc)

arch=$(dpkg --print-architecture)
tools_deb_name=keyward-tools_${version}_${arch}.deb
package_status() { dpkg-query -W -f='${db:Status-Abbrev}' "${1:-keyward}" 2>/dev/null || true; }

# Installing over a keyward that is already there would test that one, and removing it at the
# end would take away something this script did not install.
if [[ $(package_status) == i* ]]; then
  keyward_die "a keyward package is already installed ($(dpkg-query -W keyward));" \
    "remove it first: dpkg -r keyward"
fi
if [[ $(package_status keyward-tools) == i* ]]; then
  keyward_die "a keyward-tools package is already installed; remove it first: dpkg -r keyward-tools"
fi
for f in "${installed_files[@]}" /usr/bin/keyward; do
  [[ ! -e $f ]] || keyward_die "$f exists but belongs to no keyward package; remove it first"
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/keyward-package.XXXXXX")
cleanup() {
  local rc=$?
  if [[ $(package_status keyward-tools) == i* ]]; then
    keyward_banner "removing the keyward-tools package"
    keyward_as_root env DEBIAN_FRONTEND=noninteractive dpkg -r keyward-tools </dev/null || rc=1
  fi
  if [[ $(package_status) == i* ]]; then
    keyward_banner "removing the keyward package"
    keyward_as_root env DEBIAN_FRONTEND=noninteractive dpkg -r keyward </dev/null || rc=1
  fi
  rm -rf "$scratch"
  exit "$rc"
}
trap cleanup EXIT

if [[ -n ${KEYWARD_PACKAGE_COPY:-} ]]; then
  # A fresh copy tools/check_install.sh made (KEYWARD_INSTALL_COPY) and built the tools preset
  # in, as the README's install-full block does: the blocks below run in it as written, and
  # `cmake --build --preset tools` finds the tool built.
  src=$KEYWARD_PACKAGE_COPY
  [[ -f $src/build/tools/CMakeCache.txt ]] ||
    keyward_die "KEYWARD_PACKAGE_COPY=$src: no tools preset build in it (tools/check_install.sh)"
  keyward_banner "the fresh copy tools/check_install.sh built the tool in: $src"
else
  keyward_banner "fresh copy of the source tree"
  keyward_source_copy "$scratch/src"
  src=$scratch/src
fi

# --- 1. the README's steps -----------------------------------------------------------------
block=$(keyward_readme_block install-deb)
grep -qF -- "$deb_name" <<<"$block" ||
  keyward_die "README block install-deb does not install $deb_name (version $version):" \
    "update it with the version"
keyward_banner "README block install-deb, run as written in a fresh copy"
printf '%s\n' "$block" | sed 's/^/  $ /'
if ((EUID == 0)); then
  (cd "$src" && DEBIAN_FRONTEND=noninteractive bash -euxo pipefail -c "$block" </dev/null)
else
  # As a user, the block's apt-get needs sudo; the rest runs as written.
  (cd "$src" && DEBIAN_FRONTEND=noninteractive bash -euxo pipefail -c \
    "${block//apt-get /sudo -n apt-get }" </dev/null)
fi
[[ $(package_status) == ii* ]] || keyward_die "the keyward package is not installed after the block"

# --- 2. what the .deb is ---------------------------------------------------------------------
deb=$(find "$src/build" -name "$deb_name" | head -n1)
[[ -n $deb ]] || keyward_die "no $deb_name under build/"
keyward_banner "$deb_name"
dpkg-deb --info "$deb"
[[ $(dpkg-deb --field "$deb" Package) == keyward ]] || keyward_die "the package is not named keyward"
[[ $(dpkg-deb --field "$deb" Version) == "$version" ]] || keyward_die "the package's version is not $version"
[[ $(dpkg-deb --field "$deb" Architecture) == all ]] || keyward_die "the package is not Architecture: all"
[[ -n $(dpkg-deb --field "$deb" Description) ]] || keyward_die "the package has no Description"
contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
for f in "${installed_files[@]}"; do
  grep -qxF "$f" <<<"$contents" || keyward_die "the package does not contain $f"
done
if grep -vE '^/usr/(include/keyward/|share/cmake/keyward/|share/pkgconfig/)' <<<"$contents" |
  grep -vxE '/usr/|/usr/include/|/usr/share/|/usr/share/cmake/|/usr/share/pkgconfig/'; then
  keyward_die "the package contains files outside the headers, CMake package and keyward.pc (above)"
fi
for f in "${installed_files[@]}"; do
  [[ -f $f ]] || keyward_die "$f is missing after installing the package"
done

# --- 3. consumers against the installed package ------------------------------------------------
keyward_check_consumers "$scratch/consumer"

# --- 3b. keyward-tools: the tool's package ----------------------------------------------------
# The README's block `<!-- checked: install-deb-tools -->` when it has one, else these steps.
tools_block="cmake --preset tools
cmake --build --preset tools
cpack --preset debs
dpkg -i ./build/tools/$tools_deb_name || apt-get install -f -y"
if grep -qF '<!-- checked: install-deb-tools' README.md; then
  tools_block=$(keyward_readme_block install-deb-tools)
  keyward_banner "README block install-deb-tools, run as written in the copy"
else
  keyward_banner "keyward-tools (README.md has no install-deb-tools block; these steps)"
fi
printf '%s\n' "$tools_block" | sed 's/^/  $ /'
if ((EUID == 0)); then
  (cd "$src" && CMAKE_BUILD_PARALLEL_LEVEL=$JOBS DEBIAN_FRONTEND=noninteractive \
    bash -euxo pipefail -c "$tools_block" </dev/null)
else
  tools_block=${tools_block//apt-get /sudo -n apt-get }
  (cd "$src" && CMAKE_BUILD_PARALLEL_LEVEL=$JOBS DEBIAN_FRONTEND=noninteractive \
    bash -euxo pipefail -c "${tools_block//dpkg -i /sudo -n dpkg -i }" </dev/null)
fi
tools_deb=$src/build/tools/$tools_deb_name
[[ -f $tools_deb ]] || keyward_die "no build/tools/$tools_deb_name after cpack --preset debs"
[[ -f $src/build/tools/$deb_name ]] || keyward_die "cpack --preset debs made no $deb_name"
[[ $(package_status keyward-tools) == ii* ]] || keyward_die "keyward-tools is not installed"
keyward_banner "$tools_deb_name"
dpkg-deb --info "$tools_deb"
[[ $(dpkg-deb --field "$tools_deb" Package) == keyward-tools ]] ||
  keyward_die "the tool's package is not named keyward-tools"
[[ $(dpkg-deb --field "$tools_deb" Version) == "$version" ]] ||
  keyward_die "keyward-tools' version is not $version"
[[ $(dpkg-deb --field "$tools_deb" Architecture) == "$arch" ]] ||
  keyward_die "keyward-tools is not Architecture: $arch"
tools_contents=$(dpkg-deb --contents "$tools_deb" | awk '{print $NF}' | sed 's|^\./|/|')
if grep -vxE '/usr/|/usr/bin/|/usr/bin/keyward' <<<"$tools_contents"; then
  keyward_die "keyward-tools contains more than /usr/bin/keyward (above)"
fi
grep -qxF /usr/bin/keyward <<<"$tools_contents" || keyward_die "keyward-tools has no /usr/bin/keyward"
# Every library the binary needs must come from a package its Depends names.
depends=$(dpkg-deb --field "$tools_deb" Depends)
depends_names=$(awk 'BEGIN { RS = "[,|]" } { print $1 }' <<<"$depends")
mkdir "$scratch/tools-deb"
dpkg-deb -x "$tools_deb" "$scratch/tools-deb"
tool=$scratch/tools-deb/usr/bin/keyward
needed=$(readelf -d "$tool" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[[ -n $needed ]] || keyward_die "readelf found no NEEDED library in $tool"
while IFS= read -r lib; do
  path=$(ldd "$tool" | awk -v l="$lib" '$1 == l {print $3}')
  [[ -n $path ]] || keyward_die "ldd does not resolve $lib"
  owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(realpath "$path")") ||
    keyward_die "no package owns $path ($lib)"
  owner=${owner%%:*}
  grep -qxF "$owner" <<<"$depends_names" ||
    keyward_die "keyward-tools needs $lib (package $owner) but its Depends is: $depends"
  echo "$lib: $owner, in Depends"
done <<<"$needed"
[[ $(command -v keyward) == /usr/bin/keyward ]] ||
  keyward_die "the installed tool is not the keyward on PATH ($(command -v keyward || echo none))"
keyward --help >"$scratch/help.txt" || keyward_die "the installed keyward --help failed"
grep -q '^usage:' "$scratch/help.txt" || keyward_die "the installed keyward --help shows no usage"
fixture=$src/tests/fixtures/anthropic/401-invalid-bearer-token-oauth.json
verdict=$(keyward classify "$fixture") || keyward_die "the installed keyward classify failed"
echo "keyward classify ${fixture#"$src"/}: $verdict"
grep -qF '"kind":"' <<<"$verdict" || keyward_die "keyward classify printed no verdict"
[[ $verdict != *'"kind":"ok"'* ]] || keyward_die "keyward classify calls a 401 ok"

# --- 4. the source tarball ---------------------------------------------------------------------
keyward_banner "source tarball (cpack --preset source)"
(cd "$src" && cpack --preset source)
tarball=$(find "$src/build" -name "keyward-$version.tar.gz" | head -n1)
[[ -n $tarball ]] || keyward_die "no keyward-$version.tar.gz under build/"
tar -tzf "$tarball" | sed "s|^keyward-$version/||" | grep -v '/$' | sort >"$scratch/tarball.txt"
# The tree as CPack sees it: without build output and Python's byte-code caches (which the bench
# short pass may leave), as CPACK_SOURCE_IGNORE_FILES says.
(cd "$src" && find . \( -path ./build -o -name __pycache__ \) -prune -o -type f -print |
  sed 's|^\./||' | sort) >"$scratch/tree.txt"
if ! diff -u "$scratch/tree.txt" "$scratch/tarball.txt"; then
  keyward_die "the source tarball differs from the source tree (- missing, + extra)"
fi
echo "$(wc -l <"$scratch/tarball.txt") files, the same as the source tree"
mkdir "$scratch/unpacked"
tar -xzf "$tarball" -C "$scratch/unpacked"
cmake -S "$scratch/unpacked/keyward-$version" -B "$scratch/unpacked/build" \
  -DKEYWARD_BUILD_TESTS=OFF -DKEYWARD_BUILD_EXAMPLES=OFF -DKEYWARD_BUILD_TOOLS=OFF >/dev/null
cmake --install "$scratch/unpacked/build" --prefix "$scratch/unpacked/prefix" >/dev/null
[[ -f $scratch/unpacked/prefix/include/keyward/keyward.hpp ]] ||
  keyward_die "the unpacked source tarball did not install the headers"
echo "unpacked, configured and installed"

# --- 5. remove the packages --------------------------------------------------------------------
keyward_banner "removing the keyward-tools package"
keyward_as_root env DEBIAN_FRONTEND=noninteractive dpkg -r keyward-tools </dev/null
[[ $(package_status keyward-tools) != i* ]] || keyward_die "keyward-tools is still installed"
[[ ! -e /usr/bin/keyward ]] || keyward_die "/usr/bin/keyward is still there after removing it"
keyward_banner "removing the keyward package"
keyward_as_root env DEBIAN_FRONTEND=noninteractive dpkg -r keyward </dev/null
[[ $(package_status) != i* ]] || keyward_die "the keyward package is still installed"
for f in "${installed_files[@]}"; do
  [[ ! -e $f ]] || keyward_die "$f is still there after removing the package"
done
[[ ! -d /usr/include/keyward ]] || keyward_die "/usr/include/keyward is still there"

keyward_banner "packages: ok ($deb_name installed, used by CMake and Make; $tools_deb_name" \
  "installed, its tool run; both removed; source tarball)"
