#!/usr/bin/env bash
# Checks that every line of the README's C++ example is real code from examples/quickstart.cpp,
# so the README cannot drift from code that CI compiles and runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
trim() { sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'; }
snippet=$(awk '/^```cpp$/{f=1; next} /^```$/{f=0} f' README.md | trim | grep -v '^$' | grep -v '^// examples/')
source_lines=$(trim < examples/quickstart.cpp)
missing=0
while IFS= read -r line; do
  if ! grep -qxF -- "$line" <<<"$source_lines"; then
    echo "README line not found in examples/quickstart.cpp: $line" >&2
    missing=1
  fi
done <<<"$snippet"
[ "$missing" -eq 0 ] && echo "README example matches examples/quickstart.cpp"
exit "$missing"
