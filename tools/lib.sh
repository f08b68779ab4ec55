# shellcheck shell=bash
# Helpers shared by tools/test.sh and tools/demo.sh. Source it; do not run it.

# Repository root (this file lives in <root>/tools/).
# shellcheck disable=SC2034 # used by the scripts that source this file
KEYWARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

keyward_banner() {
  printf '\n==== %s ====\n' "$*"
}

keyward_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# keyward_ensure SPEC...
#   SPEC is either "command=debian-package" (installed when `command -v command` fails) or a bare
#   "debian-package" (installed when dpkg does not report it as installed; skipped where there is
#   no dpkg). Missing packages are installed in one apt-get run; this needs root (or passwordless
#   sudo) and works without stdin.
keyward_ensure() {
  local spec cmd pkg
  local -a missing=()
  for spec in "$@"; do
    if [[ $spec == *=* ]]; then
      cmd=${spec%%=*}
      pkg=${spec#*=}
      command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    else
      pkg=$spec
      if command -v dpkg-query >/dev/null 2>&1; then
        [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null) == ii* ]] ||
          missing+=("$pkg")
      fi
    fi
  done
  ((${#missing[@]} == 0)) && return 0

  local -a sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      keyward_die "missing packages: ${missing[*]} (run as root, or install them:" \
        "apt-get install ${missing[*]})"
    fi
  fi
  command -v apt-get >/dev/null 2>&1 ||
    keyward_die "missing packages: ${missing[*]}, and no apt-get to install them"

  keyward_banner "installing missing packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
}

# CMakePresets.json uses format version 6, which needs CMake >= 3.25 (Debian 12 has 3.25.1).
keyward_check_cmake() {
  local v
  v=$(cmake --version | sed -n '1s/^cmake version \([0-9.]*\).*/\1/p')
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  if ((major < 3 || (major == 3 && minor < 25))); then
    keyward_die "CMake >= 3.25 is required (found ${v:-unknown})"
  fi
}

# keyward_as_root COMMAND...: runs COMMAND as root (directly, or through passwordless sudo).
keyward_as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    keyward_die "needs root (or passwordless sudo): $*"
  fi
}

# keyward_project_version: the VERSION in CMakeLists.txt's project() (e.g. 0.1.0).
keyward_project_version() {
  local v
  v=$(sed -n '/^project(keyward/,/)/s/^.*VERSION \([0-9][0-9.]*\).*$/\1/p' \
    "$KEYWARD_ROOT/CMakeLists.txt" | head -n1)
  [[ -n $v ]] || keyward_die "no project(keyward VERSION ...) in CMakeLists.txt"
  printf '%s\n' "$v"
}

# keyward_readme_block NAME [LANG]: the body of the README's fenced block (```LANG, default sh)
# that follows the line `<!-- checked: NAME ...-->`. Fails when there is no such block.
keyward_readme_block() {
  local name=$1 lang=${2:-sh} block
  block=$(awk -v name="$name" -v lang="$lang" '
    index($0, "<!-- checked: " name " ") == 1 || $0 == "<!-- checked: " name " -->" { armed = 1; next }
    armed && $0 == "```" lang { inside = 1; armed = 0; next }
    inside && $0 == "```" { exit }
    inside { print }
  ' "$KEYWARD_ROOT/README.md")
  [[ -n $block ]] || keyward_die "README.md has no \`\`\`$lang block after <!-- checked: $name -->"
  printf '%s\n' "$block"
}

# keyward_source_copy DEST: a fresh copy of the source tree in DEST, as a new clone would have it
# (no build/), but with the working tree's uncommitted changes: the tracked files and the new,
# not ignored ones.
keyward_source_copy() {
  local dest=$1
  mkdir -p "$dest"
  if git -C "$KEYWARD_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    local f
    # Files deleted in the working tree are still listed by --cached: skip them.
    while IFS= read -r -d '' f; do
      if [[ -e $KEYWARD_ROOT/$f ]]; then printf '%s\0' "$f"; fi
    done < <(git -C "$KEYWARD_ROOT" ls-files -z --cached --others --exclude-standard) |
      tar -C "$KEYWARD_ROOT" --null -T - -cf - | tar -C "$dest" -xf -
  else
    tar -C "$KEYWARD_ROOT" --exclude=./build -cf - . | tar -C "$dest" -xf -
  fi
}

# keyward_check_consumers WORKDIR [PREFIX]: builds tests/cmake_import against an installed keyward,
# with CMake through find_package() and with Make through pkg-config, runs both, and checks that
# each found the copy expected: the one under PREFIX, or without PREFIX the one a package put in
# /usr. Each prints the version it was compiled against, which must be the project's.
keyward_check_consumers() {
  local work=$1 prefix=${2:-}
  local version want_cmake want_pc
  version=$(keyward_project_version)
  want_cmake=${prefix:-/usr}/share/cmake/keyward
  want_pc=${prefix:-/usr}/share/pkgconfig
  local -a cmake_args=() pc_env=()
  if [[ -n $prefix ]]; then
    cmake_args=(-DCMAKE_PREFIX_PATH="$prefix")
    pc_env=(PKG_CONFIG_PATH="$prefix/share/pkgconfig")
  fi

  keyward_banner "consumer: CMake, find_package(keyward) (${prefix:-system})"
  cmake -S "$KEYWARD_ROOT/tests/cmake_import" -B "$work/cmake" -G Ninja \
    -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug "${cmake_args[@]}"
  # Make sure it found the copy just installed, not some other keyward on the system.
  local found
  found=$(sed -n 's/^keyward_DIR:[A-Z]*=//p' "$work/cmake/CMakeCache.txt")
  echo "keyward_DIR=$found"
  [[ $found == "$want_cmake" ]] ||
    keyward_die "the CMake consumer found keyward in '$found', not in '$want_cmake'"
  cmake --build "$work/cmake" -j"${JOBS:-2}"
  [[ $("$work/cmake/keyward_cmake_import") == "keyward $version" ]] ||
    keyward_die "the CMake consumer was compiled against another version of keyward"
  [[ $("$work/cmake/keyward_import_separate") == "separate compilation: 200" ]] ||
    keyward_die "the CMake consumer built with KEYWARD_SEPARATE_COMPILATION did not send"

  keyward_banner "consumer: Make, pkg-config keyward (${prefix:-system})"
  # The Makefile's flag lines must be the README's, so that the README's are the ones tested.
  local line
  while IFS= read -r line; do
    [[ -z $line ]] && continue
    grep -qxF -- "$line" "$KEYWARD_ROOT/tests/cmake_import/Makefile" ||
      keyward_die "README's make line is not in tests/cmake_import/Makefile: $line"
  done < <(keyward_readme_block make make)
  local pcdir
  pcdir=$(env "${pc_env[@]}" pkg-config --variable=pcfiledir keyward)
  echo "keyward.pc in $pcdir: $(env "${pc_env[@]}" pkg-config --cflags --libs keyward)"
  [[ $pcdir == "$want_pc" ]] ||
    keyward_die "pkg-config found keyward.pc in '$pcdir', not in '$want_pc'"
  [[ $(env "${pc_env[@]}" pkg-config --variable=prefix keyward) == "${prefix:-/usr}" ]] ||
    keyward_die "keyward.pc's prefix is not ${prefix:-/usr}"
  [[ $(env "${pc_env[@]}" pkg-config --modversion keyward) == "$version" ]] ||
    keyward_die "keyward.pc's version is not $version"
  [[ $(env "${pc_env[@]}" pkg-config --variable=cxx_std keyward) == c++20 ]] ||
    keyward_die "keyward.pc does not name c++20 in cxx_std"
  mkdir -p "$work/make"
  env "${pc_env[@]}" make -f "$KEYWARD_ROOT/tests/cmake_import/Makefile" -C "$work/make"
  [[ $("$work/make/keyward_make_import") == "keyward $version" ]] ||
    keyward_die "the Make consumer was compiled against another version of keyward"
}
