#!/usr/bin/env bash
# Checks that each guide in docs/guides/ shows its example program, which CI compiles and runs
# (examples/guides/<role>.cpp, ctest test example.guide_<role>):
#   - every docs/guides/<role>.md but README.md (the index) has examples/guides/<role>.cpp, and
#     every examples/guides/*.cpp has its guide;
#   - every line of the guide's ```cpp blocks is a line of its program (tools/check_readme.sh);
#   - and more: the guide's ```cpp blocks, put together, are the program, every line in order
#     (a block may begin with a `// examples/guides/<role>.cpp` line naming it), so a guide shows
#     the whole program, not an excerpt that leaves out what makes it work.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
failed=0
shopt -s nullglob
guides=(docs/guides/*.md)
programs=(examples/guides/*.cpp)
((${#guides[@]} > 1 && ${#programs[@]} > 0)) || {
  echo "no guides in docs/guides/ or no programs in examples/guides/" >&2
  exit 1
}
for program in "${programs[@]}"; do
  role=$(basename "$program" .cpp)
  if [[ ! -f docs/guides/$role.md ]]; then
    echo "$program has no guide docs/guides/$role.md" >&2
    failed=1
  fi
done
for guide in "${guides[@]}"; do
  role=$(basename "$guide" .md)
  [[ $role == README ]] && continue
  program=examples/guides/$role.cpp
  if [[ ! -f $program ]]; then
    echo "$guide has no program $program" >&2
    failed=1
    continue
  fi
  bash tools/check_readme.sh "$guide" "$program" || failed=1
  if ! diff -u --label "$program" --label "$guide (its \`\`\`cpp blocks)" "$program" \
    <(awk '/^```cpp$/{f=1; next} /^```$/{f=0} f' "$guide" | grep -vxF "// $program") >&2; then
    echo "$guide does not show $program as it is, in order (the diff above)" >&2
    failed=1
  fi
done
if ((failed == 0)); then echo "every guide shows its whole program, in order"; fi
exit "$failed"
