#!/usr/bin/env bash
# Runs every shell command the documents show as runnable, so that a command a reader copies
# from docs/ works as written:
#
#   bash tools/check_doc_commands.sh            # docs/*.md and docs/guides/*.md
#   bash tools/check_doc_commands.sh FILE.md... # only these
#
# A block is runnable when the line right before its ```sh fence is exactly
#
#   <!-- runnable -->
#
# Each runnable block runs as one `bash -euo pipefail` script from the repository root, with the
# dev preset's build tree (build/dev, as `cmake --preset dev && cmake --build --preset dev` or
# tools/dev-test.sh leaves it) in place and its tool first on PATH (`keyward ...` is
# build/dev/tools/cli/keyward). Mark only blocks that need nothing else and finish in seconds.
# A block that fails (or runs over 120 s) fails the check, with its output; a marker that is not
# followed by a ```sh block is an error too, and so is finding no runnable block at all.
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KEYWARD_ROOT"

tool_dir=$KEYWARD_ROOT/build/dev/tools/cli
[[ -x $tool_dir/keyward ]] ||
  keyward_die "no $tool_dir/keyward: build the dev preset first" \
    "(cmake --preset dev && cmake --build --preset dev, or bash tools/dev-test.sh)"

if (($# > 0)); then
  docs=("$@")
else
  shopt -s nullglob
  docs=(docs/*.md docs/guides/*.md)
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/keyward-doc-commands.XXXXXX")
# shellcheck disable=SC2064 # expand $scratch now
trap "rm -rf '$scratch'" EXIT

blocks=0
failed=0
start=$SECONDS
for doc in "${docs[@]}"; do
  # One file per runnable block: <n>.sh holds its lines, <n>.where its first line's number. A
  # marker without a ```sh fence on the next line is reported as <n>.bad.
  rm -f "$scratch"/block.*
  awk -v out="$scratch/block" '
    marker { marker = 0
             if ($0 == "```sh") { n++; inblock = 1; print NR > (out "." n ".where"); next }
             print NR - 1 > (out "." ++n ".bad"); next }
    inblock && /^```$/ { inblock = 0; next }
    inblock { print > (out "." n ".sh"); next }
    $0 == "<!-- runnable -->" { marker = 1 }
  ' "$doc"
  for bad in "$scratch"/block.*.bad; do
    [[ -e $bad ]] || continue
    echo "FAIL  $doc:$(cat "$bad"): <!-- runnable --> is not followed by a \`\`\`sh block" >&2
    failed=1
  done
  for script in "$scratch"/block.*.sh; do
    [[ -e $script ]] || continue
    line=$(cat "${script%.sh}.where")
    blocks=$((blocks + 1))
    block_start=$SECONDS
    if PATH="$tool_dir:$PATH" timeout 120 bash -euo pipefail "$script" >"$scratch/out" 2>&1; then
      printf 'ok    %s:%s (%ss): %s\n' "$doc" "$line" "$((SECONDS - block_start))" \
        "$(head -n1 "$script")"
    else
      rc=$?
      printf 'FAIL  %s:%s (exit %s):\n' "$doc" "$line" "$rc" >&2
      sed 's/^/  $ /' "$script" >&2
      sed 's/^/  | /' "$scratch/out" | tail -n 40 >&2
      failed=1
    fi
  done
done
if ((blocks == 0 && failed == 0)); then
  echo "no <!-- runnable --> block found in ${docs[*]}" >&2
  failed=1
fi
if ((failed == 0)); then
  echo "$blocks runnable blocks of the documents ran as written ($((SECONDS - start)) s)"
fi
exit "$failed"
