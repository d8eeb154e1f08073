#!/usr/bin/env bash
# Builds the release .deb and .rpm with the Tauri bundler (target/release/bundle/) and
# prints their sizes. `make package` runs this; so does `make test`, for the package test.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .tools/node/node_modules/.bin/node ]] && export PATH="$PWD/.tools/node/node_modules/.bin:$PATH"
export PATH="$HOME/.cargo/bin:$PATH"
rm -rf target/release/bundle/deb target/release/bundle/rpm
node_modules/.bin/tauri build --bundles deb,rpm --ci
for f in target/release/bundle/deb/*.deb target/release/bundle/rpm/*.rpm; do
  printf 'package: %s %s\n' "$(du -h "$f" | cut -f1)" "$f" >&2
done
