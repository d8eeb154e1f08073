#!/usr/bin/env bash
# The Linux package, tested as a user's machine would meet it, without installing it:
# the .deb is unpacked into a throwaway root; its desktop entry and AppStream metadata
# pass the distribution's validators; with XDG_DATA_DIRS pointing into the root, the
# desktop's own xdg-open hands a ferry:// link to the packaged Ferry, which starts, and a
# second link goes to the one already running. Also checks the .rpm's file list.
# Run inside the test session (make test runs it after `make package`):
#   tests/session/run.sh tests/package/deb.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() {
  echo "package test: FAILED: $*" >&2
  if [[ -n "${log_dir:-}" ]]; then
    echo "--- the last lines of Ferry's log:" >&2
    cat "$log_dir"/*.log 2>/dev/null | tail -n 25 >&2 || true
    pgrep -af "/usr/bin/ferry" >&2 || true
  fi
  exit 1
}
ok() { echo "package test: ok: $*" >&2; }
[[ "${FERRY_IN_SESSION:-}" == 1 ]] || fail "run inside tests/session/run.sh"

deb="$(ls target/release/bundle/deb/*.deb 2>/dev/null | head -n 1)"
rpm="$(ls target/release/bundle/rpm/*.rpm 2>/dev/null | head -n 1)"
[[ -f "$deb" ]] || fail "no .deb in target/release/bundle/deb (run make package)"
[[ -f "$rpm" ]] || fail "no .rpm in target/release/bundle/rpm (run make package)"
echo "package test: $(basename "$deb") $(du -h "$deb" | cut -f1), $(basename "$rpm") $(du -h "$rpm" | cut -f1)" >&2

root="$(mktemp -d)"
ferry_pid=""
opener=""
cleanup() {
  if [[ -n "$ferry_pid" ]]; then kill -TERM "$ferry_pid" 2>/dev/null || true; fi
  if [[ -n "$opener" ]]; then wait "$opener" 2>/dev/null || true; fi
  rm -rf "$root"
}
trap cleanup EXIT

# --- the package's contents -----------------------------------------------------------
dpkg-deb -x "$deb" "$root"
[[ "$(dpkg-deb -f "$deb" Package)" == ferry ]] || fail "package name"
dpkg-deb -f "$deb" Depends | grep -q libwebkit2gtk-4.1 || fail "Depends lacks WebKitGTK"
[[ -x "$root/usr/bin/ferry" ]] || fail "no /usr/bin/ferry"
desktop="$root/usr/share/applications/Ferry.desktop"
metainfo="$root/usr/share/metainfo/dev.ferry.desktop.metainfo.xml"
for f in "$desktop" "$metainfo" "$root/usr/share/icons/hicolor/128x128/apps/ferry.png"; do
  [[ -f "$f" ]] || fail "missing ${f#"$root"}"
done
ok "contents: binary, desktop entry, AppStream metadata, icons"

# --- validators -----------------------------------------------------------------------
desktop-file-validate "$desktop" || fail "desktop-file-validate"
grep -qx 'Exec=ferry %u' "$desktop" || fail "Exec must pass the URL (%u): $(grep ^Exec= "$desktop")"
grep -q '^MimeType=.*x-scheme-handler/ferry;' "$desktop" || fail "no x-scheme-handler/ferry"
appstreamcli validate --no-net "$metainfo" >&2 || fail "appstreamcli validate"
ok "desktop-file-validate and appstreamcli validate pass"

# --- the .rpm carries the same files --------------------------------------------------
rpm_files="$(rpm -qpl "$rpm" 2>/dev/null)"
for f in /usr/bin/ferry /usr/share/applications/Ferry.desktop \
  /usr/share/metainfo/dev.ferry.desktop.metainfo.xml /usr/share/icons/hicolor/128x128/apps/ferry.png; do
  grep -qx "$f" <<<"$rpm_files" || fail "the .rpm lacks $f"
done
ok ".rpm lists the binary, desktop entry, metadata and icons"

# --- the ferry:// handler, as the desktop resolves it -----------------------------------
update-desktop-database "$root/usr/share/applications"
export XDG_DATA_DIRS="$root/usr/share:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}"
# A user who has only ever had the package: the development builds that ran in this
# session registered handlers of their own in its home.
export XDG_DATA_HOME="$root/user/data" XDG_CONFIG_HOME="$root/user/config"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
handler="$(xdg-mime query default x-scheme-handler/ferry)"
[[ "$handler" == Ferry.desktop ]] || fail "x-scheme-handler/ferry resolves to '$handler', not Ferry.desktop"
ok "x-scheme-handler/ferry resolves to the package's Ferry.desktop"

export PATH="$root/usr/bin:$PATH"
export FERRY_PROFILE=test
log_dir="$XDG_DATA_HOME/dev.ferry.desktop.test/logs"
links() { cat "$log_dir"/*.log 2>/dev/null | grep -c 'deep link received' || true; }
before="$(links)"
# Without a desktop environment xdg-open runs the handler in the foreground, as long as
# that Ferry lives: in the background here.
xdg-open 'ferry://oauth/microsoft?code=PACKAGE-CODE-1&state=s1' &
opener=$!
for _ in $(seq 200); do
  ferry_pid="$(pgrep -f "^$root/usr/bin/ferry" | head -n 1 || true)"
  (( $(links) > before )) && [[ -n "$ferry_pid" ]] && break
  sleep 0.1
done
[[ -n "$ferry_pid" ]] || fail "xdg-open did not start the packaged Ferry"
[[ "$(readlink "/proc/$ferry_pid/exe")" == "$root/usr/bin/ferry" ]] || fail "the running Ferry is not the packaged one"
(( $(links) == before + 1 )) || fail "the packaged Ferry did not receive the link"
ok "xdg-open started the packaged Ferry (pid $ferry_pid) with the link"

# The second Ferry hands the link over and exits, and so does its xdg-open.
timeout 20 xdg-open 'ferry://oauth/microsoft?code=PACKAGE-CODE-2&state=s2' || fail "the second launch did not exit"
for _ in $(seq 100); do (( $(links) > before + 1 )) && break; sleep 0.1; done
(( $(links) == before + 2 )) || fail "the second link did not reach the running Ferry"
(( $(pgrep -fc "^$root/usr/bin/ferry") == 1 )) || fail "a second Ferry stayed running"
! grep -q 'PACKAGE-CODE' "$log_dir"/*.log || fail "a code reached the log"
ok "a second link went to the running Ferry, and only one Ferry runs"
echo "package test: passed" >&2
