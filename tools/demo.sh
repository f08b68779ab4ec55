#!/usr/bin/env bash
# First command of the README: builds the keyward tool (the `tools` preset:
# g++, Release, nothing else built) and runs `keyward demo`
# (a provider API and an OAuth token endpoint on 127.0.0.1, requests through libcurl, in real time;
# libasio-dev for its scene of coroutines on asio).
#
#   bash tools/demo.sh
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KEYWARD_ROOT"

keyward_ensure g++=g++ cmake=cmake ninja=ninja-build pkg-config=pkgconf libcurl4-openssl-dev \
  libcpp-httplib-dev libssl-dev libasio-dev
keyward_check_cmake

keyward_banner "configure (tools preset)"
cmake --preset tools
keyward_banner "build the keyward tool"
cmake --build --preset tools --target keyward -j2
keyward_banner "run build/tools/tools/cli/keyward demo"
exec build/tools/tools/cli/keyward demo
