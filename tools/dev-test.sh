#!/usr/bin/env bash
# The README's quick test command, and step 1 of tools/test.sh (the full sweep CI runs):
#
#   bash tools/dev-test.sh
#
# Installs what the dev preset needs when it is missing (Debian/apt, needs root; npm
# proper-lockfile 4.1.2 in build/npm for the seed-lock seam test, which skips and says so when
# npm's registry is unreachable), then configures,
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
  libgtest-dev libgmock-dev libbenchmark-dev libcurl4-openssl-dev libasio-dev libcpp-httplib-dev \
  libssl-dev libhiredis-dev libsqlite3-dev redis-server=redis-server node=nodejs npm=npm
keyward_check_cmake

# The real other side of the file store's seam with OpenClaw's older lock: npm proper-lockfile
# 4.1.2, run by node in tests/store/seed_lock_seam_test.cpp. Kept once installed.
NPM_DIR=build/npm
if [[ $(node -p "require('./$NPM_DIR/node_modules/proper-lockfile/package.json').version" \
  2>/dev/null) == 4.1.2 ]]; then
  echo "proper-lockfile 4.1.2 already in $NPM_DIR/node_modules"
elif timeout 60 npm ping >/dev/null 2>&1; then
  keyward_banner "npm: proper-lockfile 4.1.2 into $NPM_DIR"
  mkdir -p "$NPM_DIR"
  timeout 300 npm install --prefix "$NPM_DIR" --no-save --no-package-lock --no-audit --no-fund \
    proper-lockfile@4.1.2
else
  printf '\n**** SKIPPED: npm registry unreachable: proper-lockfile not installed, so\n'
  printf '**** SeedLockSeam.* (tests/store/seed_lock_seam_test.cpp) will be skipped ****\n\n'
fi

keyward_banner "dev preset: configure"
cmake --preset dev
keyward_banner "dev preset: build"
cmake --build --preset dev -j"${KEYWARD_JOBS:-2}"
keyward_banner "dev preset: ctest"
ctest --preset dev
