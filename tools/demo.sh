#!/usr/bin/env bash
# First command of the README: builds the `release` preset's seed_replay example and runs it.
#
#   bash tools/demo.sh
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KEYWARD_ROOT"

keyward_ensure g++=g++ cmake=cmake ninja=ninja-build
keyward_check_cmake

keyward_banner "configure (release preset)"
cmake --preset release
keyward_banner "build seed_replay"
cmake --build --preset release --target seed_replay -j2
keyward_banner "run build/release/examples/seed_replay"
exec build/release/examples/seed_replay "$@"
