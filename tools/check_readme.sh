#!/usr/bin/env bash
# Checks that every line of a document's C++ examples is real code from the example program CI
# compiles and runs, so the document cannot drift from it:
#
#   bash tools/check_readme.sh                  # README.md against examples/quickstart.cpp
#   bash tools/check_readme.sh DOC SOURCE       # any other pair (tools/check_guides.sh uses it)
#
# Every non-blank line of DOC's ```cpp blocks, trimmed, must be a line of SOURCE; lines that name
# the example's file (`// examples/...`) are skipped.
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
snippet=$(awk '/^```cpp$/{f=1; next} /^```$/{f=0} f' "$doc" | trim | grep -v '^$' | grep -v '^// examples/' || true)
if [[ -z $snippet ]]; then
  echo "$doc has no \`\`\`cpp example" >&2
  exit 1
fi
source_lines=$(trim < "$source")
missing=0
while IFS= read -r line; do
  if ! grep -qxF -- "$line" <<<"$source_lines"; then
    echo "$doc line not found in $source: $line" >&2
    missing=1
  fi
done <<<"$snippet"
[ "$missing" -eq 0 ] && echo "$doc example matches $source"
exit "$missing"
