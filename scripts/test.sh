#!/usr/bin/env bash
# Every check Ferry has, in the order a failure is cheapest to find. `make test` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .tools/node/node_modules/.bin/node ]] && export PATH="$PWD/.tools/node/node_modules/.bin:$PATH"
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

# Each runner leaves a report here; scripts/tally.mjs adds them up at the end.
export FERRY_TEST_REPORTS="$PWD/target/test-reports"
rm -rf "$FERRY_TEST_REPORTS" && mkdir -p "$FERRY_TEST_REPORTS"

step "format (rustfmt)"
cargo fmt --all -- --check

step "UI: build, type-check, lint, unit tests"
npm run build --workspace ui
npm run lint --workspace ui
npm run test --workspace ui -- --reporter=default --reporter=json \
  --outputFile.json="$FERRY_TEST_REPORTS/ui.json"
npm run typecheck --workspace tests/e2e

step "release workflow (actionlint)"
.tools/actionlint/actionlint -color .github/workflows/*.yml

step "clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build the app and the provider sandbox for the end-to-end tests"
cargo build --locked -p ferry -p ferry-sandbox

step "release packages (.deb, .rpm) for the package test"
scripts/package.sh

step "Rust tests and end-to-end tests, inside the private headless session"
tests/session/run.sh scripts/test-in-session.sh

step "summary"
node scripts/tally.mjs "$FERRY_TEST_REPORTS"
