#!/usr/bin/env bash
# The interleaving proof against the real OpenClaw (docs/openclaw.md, "The proof"):
#
#   bash tools/openclaw/proof.sh [proof.mjs options...]
#
# Installs openclaw 2026.9.6 and Node 24 from npm when missing (tools/openclaw/install.sh), then
# runs with that Node:
#   0. with KEYWARD_TOOL set (a keyward binary), the shared cooldowns both ways against
#      OpenClaw's own code (cooldown.mjs, a few seconds);
#   1. the negative control: a participant that refreshes without OpenClaw's lock and fence
#      beside OpenClaw's own refresh must make the proof fail (so the proof can fail);
#   2. the proof: the protocol checks (OpenClaw honours its lock file and fences written as
#      docs/openclaw.md states them), then forced expiries until 100 rounds had every participant refreshing at once (default: three
#      OpenClaw processes; options given here go to proof.mjs, e.g.
#      --participant openclaw --participant 'exec:COMMAND' ...).
# Skipped with a visible banner only when npm is unreachable and OpenClaw is not installed.
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$KEYWARD_ROOT"

DIR=${KEYWARD_OPENCLAW_DIR:-build/openclaw}
bash tools/openclaw/install.sh
NODE=""
for candidate in "$DIR"/node_modules/node-linux-*/bin/node; do
  [[ -x $candidate ]] && NODE=$candidate
done
if [[ -z $NODE || ! -f $DIR/node_modules/openclaw/package.json ]]; then
  printf '\n**** SKIPPED: the OpenClaw interleaving proof: openclaw is not installed in %s\n' "$DIR"
  printf '**** (npm registry unreachable, see above) ****\n\n'
  exit 0
fi

if [[ -n ${KEYWARD_TOOL:-} ]]; then
  keyward_banner "OpenClaw shared cooldowns, both ways, with $KEYWARD_TOOL"
  "$NODE" tools/openclaw/cooldown.mjs --modules "$DIR/node_modules" --keyward "$KEYWARD_TOOL"
else
  echo "OpenClaw shared cooldowns not checked: KEYWARD_TOOL names no keyward binary"
fi

keyward_banner "OpenClaw proof: negative control (must fail)"
"$NODE" tools/openclaw/proof.mjs --modules "$DIR/node_modules" --interleavings 10 \
  --participant naive --participant openclaw --participant naive --expect-failure

keyward_banner "OpenClaw proof: 100 interleavings with expiries forced"
"$NODE" tools/openclaw/proof.mjs --modules "$DIR/node_modules" --interleavings 100 "$@"
