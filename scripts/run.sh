#!/usr/bin/env bash
# `make run`: a development build of Ferry. With your own Google or Microsoft client IDs
# configured (environment or providers.toml), it talks to the real providers; without,
# it starts the provider sandbox and points Ferry at it (the window shows "Sandbox").
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# A development build uses the dev profile's config folder.
config="${XDG_CONFIG_HOME:-$HOME/.config}/dev.ferry.desktop.dev/providers.toml"
if [[ -n "${FERRY_GOOGLE_CLIENT_ID:-}${FERRY_MICROSOFT_CLIENT_ID:-}" ]] \
  || { [[ -f "$config" ]] && grep -q '^[[:space:]]*client_id' "$config"; }; then
  echo "run: using your configured provider clients" >&2
  exec cargo run --locked -p ferry --bin ferry
fi

cargo build --locked -p ferry -p ferry-sandbox
urls="$(mktemp)"
# Quotas on and a realistic round trip, as in benchmarks.
target/debug/ferry-sandbox --quotas --latency-ms 80 >"$urls" &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null || true; rm -f "$urls"' EXIT
for _ in $(seq 100); do [[ -s "$urls" ]] && break; sleep 0.05; done
read_url() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$urls"; }
export FERRY_SANDBOX_GOOGLE_URL="$(read_url google)"
export FERRY_SANDBOX_MICROSOFT_URL="$(read_url microsoft)"
[[ -n "$FERRY_SANDBOX_GOOGLE_URL" && -n "$FERRY_SANDBOX_MICROSOFT_URL" ]] || { echo "run: the sandbox did not start" >&2; exit 1; }
cat >&2 <<MSG
run: no provider client IDs configured, so Ferry uses the local provider sandbox
     (Google at $FERRY_SANDBOX_GOOGLE_URL, Microsoft at $FERRY_SANDBOX_MICROSOFT_URL).
     Sandbox accounts: ada@example.com / ada and grace@example.org / grace (Google),
     alan@outlook.example / alan and katherine@contoso.example / katherine (Microsoft).
MSG
target/debug/ferry
