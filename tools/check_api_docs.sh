#!/usr/bin/env bash
# Builds the API reference from the `///` comments of the public headers, and fails on any
# warning, an undocumented public declaration above all:
#
#   bash tools/check_api_docs.sh      # writes build/api-docs/html/index.html
#
# docs/Doxyfile says what is public: include/keyward/ except detail/, and nothing in namespace
# keyward::detail. Installs doxygen (Debian's package) when it is missing. Doxygen 1.9 does not
# warn about an undocumented concept, so this script also checks that every concept in a public
# header has a `///` comment above its template line.
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KEYWARD_ROOT"

keyward_ensure doxygen=doxygen

out=build/api-docs
rm -rf "$out"
mkdir -p "$out"
log=$out/warnings.log
echo "$(doxygen --version | head -n1 | sed 's/^/doxygen /'): docs/Doxyfile -> $out/html"
status=0
KEYWARD_VERSION=$(keyward_project_version) doxygen docs/Doxyfile >"$out/doxygen.out" 2>"$log" ||
  status=$?

# A concept's `///` comment goes above its template line: `/// ...`, `template <...>`, `concept`.
# shellcheck disable=SC2016 # an awk program: its $0 is awk's
undocumented=$(find include/keyward -name '*.hpp' ! -path '*/detail/*' -print0 | sort -z |
  xargs -0 awk '
    FNR == 1 { prev = ""; before = "" }
    /^[[:space:]]*template[[:space:]]*</ { before = prev }
    /^[[:space:]]*concept[[:space:]]/ && before !~ /^[[:space:]]*\/\/\// {
      printf "%s:%d: concept not documented: %s\n", FILENAME, FNR, $0
    }
    { prev = $0 }')

if [[ -s $log || -n $undocumented || $status -ne 0 ]]; then
  cat "$log" >&2
  [[ -n $undocumented ]] && printf '%s\n' "$undocumented" >&2
  count=$(($(grep -c . "$log" || true) + $(grep -c . <<<"$undocumented" || true)))
  keyward_die "the API reference has $count warning(s) (doxygen exit status $status): give each" \
    "public declaration a one-sentence /// comment"
fi
echo "API reference: no warnings; $out/html/index.html"
