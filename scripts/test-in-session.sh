#!/usr/bin/env bash
# The part of the test run that needs the desktop session (see tests/session/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# Includes the keychain tests that are ignored outside the session, and the check that
# ui/src/bindings.ts matches the Rust contract.
cargo test --workspace --locked -- --include-ignored

# The real window, through tauri-driver and WebKitWebDriver. Screenshots: target/e2e/.
(cd tests/e2e && npx vitest run)
