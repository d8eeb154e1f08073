#!/usr/bin/env bash
# The part of the test run that needs the desktop session (see tests/session/run.sh).
set -euo pipefail  # pipefail: a failing cargo test fails the pipe into tee
cd "$(dirname "$0")/.."

# Includes the keychain tests that are ignored outside the session, and the check that
# ui/src/bindings.ts matches the Rust contract.
reports="$(realpath -m "${FERRY_TEST_REPORTS:-target/test-reports}")"
mkdir -p "$reports"
cargo test --workspace --locked -- --include-ignored 2>&1 | tee "$reports/rust.log"

# The real window, through tauri-driver and WebKitWebDriver. Screenshots: target/e2e/.
(cd tests/e2e && npx vitest run --reporter=default --reporter=json \
  --outputFile.json="$reports/e2e.json")

# The release .deb and .rpm (built by `make package` before the session): validated,
# unpacked into a throwaway root, and opened through xdg-open with a ferry:// link.
tests/package/deb.sh 2>&1 | tee "$reports/package.log"
