#!/usr/bin/env bash
# The README's quick test command, and step 1 of tools/test.sh (the full sweep CI runs):
#
#   bash tools/dev-test.sh
#
# Installs what the dev preset needs when it is missing (Debian/apt, needs root), then configures,
# builds and runs the whole ctest suite of the dev preset (g++, Debug, -Werror): the unit and
# integration tests, the header check, the examples and the guides' programs, the tool's checks.
# The same as `cmake --workflow --preset dev`, with the installs and 2 build jobs
# (KEYWARD_JOBS=N to change).
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KEYWARD_ROOT"

keyward_ensure \
  g++=g++ cmake=cmake ninja=ninja-build git=git python3=python3 pkg-config=pkgconf \
  libgtest-dev libgmock-dev libbenchmark-dev libcurl4-openssl-dev libcpp-httplib-dev libssl-dev \
  libhiredis-dev redis-server=redis-server
keyward_check_cmake

keyward_banner "dev preset: configure"
cmake --preset dev
keyward_banner "dev preset: build"
cmake --build --preset dev -j"${KEYWARD_JOBS:-2}"
keyward_banner "dev preset: ctest"
ctest --preset dev
