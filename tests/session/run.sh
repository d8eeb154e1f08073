#!/usr/bin/env bash
# Runs a command inside a private, headless desktop session:
#   Xvfb (a real X display), a private D-Bus session bus, a fresh unlocked gnome-keyring
#   (the real Secret Service), dunst (the real notification server), a kernel session
#   keyring, and a throwaway HOME with its own XDG folders.
# Nothing in here can touch a person's keychain, data or config.
#
#   tests/session/run.sh <command> [args...]
#
# FERRY_KEEP_SESSION=1 keeps the throwaway HOME for inspection.
set -euo pipefail

if [[ "${FERRY_IN_SESSION:-}" != 1 ]]; then
  export FERRY_IN_SESSION=1
  exec xvfb-run -a -s "-screen 0 1280x800x24" \
    dbus-run-session -- keyctl session - "$0" "$@"
fi

# Keep the toolchains where they are while HOME moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export npm_config_cache="${npm_config_cache:-$HOME/.npm}"

session_home="$(mktemp -d /tmp/ferry-session.XXXXXX)"
export HOME="$session_home"
export XDG_CONFIG_HOME="$HOME/.config" XDG_DATA_HOME="$HOME/.local/share"
export XDG_CACHE_HOME="$HOME/.cache" XDG_STATE_HOME="$HOME/.local/state"
export XDG_RUNTIME_DIR="$HOME/.runtime"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
# Tests run as the test profile: its own identifier, data folder and keychain namespace.
export FERRY_PROFILE=test

pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  pkill -u "$(id -u)" -f "gnome-keyring-daemon.*--control-directory=$XDG_RUNTIME_DIR" 2>/dev/null || true
  if [[ "${FERRY_KEEP_SESSION:-}" == 1 ]]; then
    echo "session: kept $session_home" >&2
  else
    rm -rf "$session_home"
  fi
  exit "$status"
}
trap cleanup EXIT

# The Secret Service. The password is a single newline: input that is truly empty creates
# no login keyring, and every keyring call then fails with NoStorageAccess.
eval "$(printf '\n' | gnome-keyring-daemon --unlock --components=secrets \
  --control-directory="$XDG_RUNTIME_DIR")"
export GNOME_KEYRING_CONTROL

# A private stand-in for the system bus, where logind and NetworkManager would announce
# a resume or a network change; tests emit those signals on it.
system_bus_dir="$XDG_RUNTIME_DIR/system-bus"
mkdir -p "$system_bus_dir"
dbus-daemon --session --nofork --address="unix:path=$system_bus_dir/socket" \
  >"$XDG_STATE_HOME/system-bus.log" 2>&1 &
pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$system_bus_dir/socket"
for _ in $(seq 50); do [[ -S "$system_bus_dir/socket" ]] && break; sleep 0.1; done

# The notification server.
dunst -config /dev/null >"$XDG_STATE_HOME/dunst.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications 2>/dev/null \
    | grep -q 'boolean true' && break
  sleep 0.1
done

echo "session: display $DISPLAY, bus ${DBUS_SESSION_BUS_ADDRESS%%,*}, home $HOME" >&2
"$@"
