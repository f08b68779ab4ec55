#!/usr/bin/env bash
# Checks that every line of a document's C++ examples is real code from the example program CI
# compiles and runs, so the document cannot drift from it:
#
#   bash tools/check_readme.sh                  # README.md against examples/quickstart.cpp
#   bash tools/check_readme.sh DOC SOURCE       # any other pair (tools/check_guides.sh uses it)
#
# Every non-blank line of DOC's ```cpp blocks, trimmed, must be a line of SOURCE, or of the example
# a block names on its first line (`// examples/NAME.cpp ...`: README.md's asynchronous block is
# examples/async_quickstart.cpp's); lines that name an example's file are skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
case $# in
  0) doc=README.md source=examples/quickstart.cpp ;;
  2) doc=$1 source=$2 ;;
  *)
    echo "usage: bash tools/check_readme.sh [DOC SOURCE]" >&2
    exit 2
    ;;
esac
[[ -f $doc ]] || { echo "no such document: $doc" >&2; exit 1; }
[[ -f $source ]] || { echo "no such example: $source" >&2; exit 1; }
trim() { sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'; }
# One line per code line: the example it must come from, a tab, the line.
snippet=$(awk -v default="$source" '
  /^```cpp$/ { f = 1; first = 1; from = default; next }
  /^```$/ { f = 0 }
  !f { next }
  { sub(/^[[:space:]]+/, ""); sub(/[[:space:]]+$/, "") }
  $0 == "" { next }
  first && match($0, /^\/\/ examples\/[^ ,:]+\.cpp/) { from = substr($0, 4, RLENGTH - 3) }
  { first = 0 }
  /^\/\/ examples\// { next }
  { print from "\t" $0 }' "$doc")
if [[ -z $snippet ]]; then
  echo "$doc has no \`\`\`cpp example" >&2
  exit 1
fi
missing=0
declare -A lines_of=()
while IFS=$'\t' read -r from line; do
  if [[ -z ${lines_of[$from]+set} ]]; then
    [[ -f $from ]] || { echo "$doc names $from, which does not exist" >&2; exit 1; }
    lines_of[$from]=$(trim <"$from")
  fi
  if ! grep -qxF -- "$line" <<<"${lines_of[$from]}"; then
    echo "$doc line not found in $from: $line" >&2
    missing=1
  fi
done <<<"$snippet"
[ "$missing" -eq 0 ] && echo "$doc examples match ${!lines_of[*]}"
exit "$missing"
