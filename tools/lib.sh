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
