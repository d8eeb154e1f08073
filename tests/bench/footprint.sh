#!/usr/bin/env bash
# Footprint benchmark: start-up time to the first paint of the Accounts screen, and the
# memory of every Ferry process (the app and its WebKit helpers) after idling in three
# states: window open, window closed to the tray, and started hidden in the tray.
# Run it inside the test session: `make bench`, or
#   tests/session/run.sh tests/bench/footprint.sh [path/to/ferry]
# After the window closes Ferry restarts itself in the tray (ferry_core::slim), so the
# closed-window figures belong to the restarted process.
# Prints its figures; it asserts nothing and is not part of `make test`.
#
#   FERRY_BENCH_RUNS  measured starts (default 5; one unmeasured warm-up start precedes them)
#   FERRY_BENCH_IDLE  seconds to idle before reading memory (default 30)
#   FERRY_BENCH_MAIL_DB  a database full of mail (mail_search's, with FERRY_BENCH_DB): the
#                        tray-only memory is read again with it in place of an empty store
set -euo pipefail

bin="$(realpath "${1:-target/release/ferry}")"
runs="${FERRY_BENCH_RUNS:-5}"
idle="${FERRY_BENCH_IDLE:-30}"
[[ "${FERRY_IN_SESSION:-}" == 1 ]] || { echo "run inside tests/session/run.sh" >&2; exit 2; }
[[ -x "$bin" ]] || { echo "no Ferry binary at $bin" >&2; exit 2; }
log_dir="$XDG_DATA_HOME/dev.ferry.desktop.test/logs"

paint_lines() { cat "$log_dir"/*.log 2>/dev/null | grep -c 'first paint' || true; }

# Starts Ferry, waits for its first-paint log line, prints "pid start_ms".
start_ferry() {
  local before t0 pid line
  before="$(paint_lines)"
  t0="$(date +%s%3N)"
  "$bin" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    if (( $(paint_lines) > before )); then
      line="$(cat "$log_dir"/*.log | grep 'first paint' | tail -n 1)"
      local painted="${line##*unix_ms=}"
      painted="${painted%% *}"
      echo "$pid $((painted - t0))"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "Ferry exited before painting" >&2; return 1; }
    sleep 0.01
  done
  echo "no first paint within 6 s" >&2
  return 1
}

# The restarted Ferry is not this shell's child, so `wait` alone cannot tell when it ends.
stop_ferry() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
}

# Ferry and all its descendants.
family() {
  local pids=("$1") i=0
  while (( i < ${#pids[@]} )); do
    for child in $(cat /proc/"${pids[$i]}"/task/*/children 2>/dev/null); do pids+=("$child"); done
    i=$((i + 1))
  done
  echo "${pids[@]}"
}

kib_field() { awk -v f="$2:" '$1 == f { print $2; exit }' "$1" 2>/dev/null || echo 0; }

echo "Ferry footprint benchmark"
echo "binary: $bin ($(du -h "$bin" | cut -f1))"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), display $DISPLAY (Xvfb)"

read -r pid _ < <(start_ferry)   # warm-up: creates the database, fills the page cache
stop_ferry "$pid"

times=()
for i in $(seq "$runs"); do
  read -r pid ms < <(start_ferry)
  times+=("$ms")
  (( i < runs )) && stop_ferry "$pid"
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median="${sorted[$(( runs / 2 ))]}"
echo
echo "start to first paint of the Accounts screen, $runs starts (ms): ${times[*]}"
echo "  median ${median} ms, best ${sorted[0]} ms, worst ${sorted[-1]} ms   (target: under 1000 ms)"

# Prints the memory of Ferry (pid $1) and its descendants; $2 names the state.
report_memory() {
  local total_rss=0 total_pss=0 rss pss
  printf '  %-8s %-24s %10s %10s\n' PID PROCESS RSS_MiB PSS_MiB
  for p in $(family "$1"); do
    [[ -r /proc/$p/status ]] || continue
    rss="$(kib_field /proc/"$p"/status VmRSS)"
    pss="$(kib_field /proc/"$p"/smaps_rollup Pss)"
    total_rss=$((total_rss + ${rss:-0}))
    total_pss=$((total_pss + ${pss:-0}))
    awk -v p="$p" -v c="$(cat /proc/"$p"/comm)" -v r="${rss:-0}" -v s="${pss:-0}" \
      'BEGIN { printf "  %-8s %-24s %10.1f %10.1f\n", p, c, r / 1024, s / 1024 }'
  done
  echo "memory of all Ferry processes, $2, after ${idle} s idle: RSS $((total_rss / 1024)) MiB (PSS $((total_pss / 1024)) MiB, shared pages counted once)   (target: under 150 MB)"
  last_total_kib="$total_pss"
}

echo
echo "idling ${idle} s with the window open ..."
sleep "$idle"
report_memory "$pid" "window open"

starts() { cat "$log_dir"/*.log 2>/dev/null | grep -c 'Ferry starting' || true; }
last_field() { cat "$log_dir"/*.log | grep "$1" | tail -n 1 | sed -n "s/.*$2=\([0-9]*\).*/\1/p"; }

# Closes the window and waits for Ferry to restart itself in the tray (see
# ferry_core::slim); sets $pid to the new process and $restart_ms to the wait.
close_and_wait_for_restart() {
  local before t0 window
  before="$(starts)"
  t0="$(date +%s%3N)"
  window="$(xdotool search --onlyvisible --name '^Ferry$' | head -n 1)"
  xdotool windowfocus --sync "$window" key ctrl+w
  for _ in $(seq 600); do (( $(starts) > before )) && break; sleep 0.1; done
  (( $(starts) > before )) || { echo "Ferry did not restart in the tray within 60 s" >&2; exit 1; }
  restart_ms=$(( $(date +%s%3N) - t0 ))
  pid="$(last_field 'Ferry starting' pid)"
}

echo
echo "closing the window (Ctrl+W), waiting for the restart in the tray, then idling ${idle} s ..."
close_and_wait_for_restart
echo "restarted in the tray ${restart_ms} ms after the window closed (new process $pid)"
sleep "$idle"
report_memory "$pid" "window closed to the tray"
closed_kib="$last_total_kib"

# Reopening from the restarted Ferry. Open Ferry in the tray and a second launch both end
# in the same call, which logs "opening the main window"; from there to the Accounts
# screen's first paint is the tray's reopen time. The second launch's own start-up and
# handover come on top of it for a launch from the menu or a terminal.
reopens=()
launches=()
for _ in 1 2 3; do
  sleep 2
  before="$(paint_lines)"
  t0="$(date +%s%3N)"
  "$bin" >/dev/null 2>&1 || true
  for _ in $(seq 500); do (( $(paint_lines) > before )) && break; sleep 0.01; done
  painted="$(last_field 'first paint' unix_ms)"
  opening="$(last_field 'opening the main window' unix_ms)"
  reopens+=("$((painted - opening))")
  launches+=("$((painted - t0))")
  close_and_wait_for_restart
done
echo "reopen from the tray to first paint, 3 times (ms): ${reopens[*]}   (target: under 500 ms)"
echo "  by a second launch instead, from its start (ms): ${launches[*]}"
stop_ferry "$pid"

# Starts Ferry hidden in the tray, idles, and reports its memory under the name $1.
idle_in_tray() {
  "$bin" --hidden >/dev/null 2>&1 &
  pid=$!
  sleep "$idle"
  report_memory "$pid" "$1"
  stop_ferry "$pid"
}

echo
echo "idling ${idle} s in the tray (started with --hidden, as at login) ..."
idle_in_tray "tray only"
hidden_kib="$last_total_kib"
echo
echo "window closed vs started hidden (PSS): $((closed_kib / 1024)) MiB vs $((hidden_kib / 1024)) MiB, $(( (closed_kib * 100 / (hidden_kib > 0 ? hidden_kib : 1)) - 100 ))% more   (target: within 20%)"

if [[ -n "${FERRY_BENCH_MAIL_DB:-}" && ! -f "$FERRY_BENCH_MAIL_DB" ]]; then
  echo "footprint: FERRY_BENCH_MAIL_DB names no file ($FERRY_BENCH_MAIL_DB); the memory with mail stored cannot be measured" >&2
  exit 1
fi
if [[ -n "${FERRY_BENCH_MAIL_DB:-}" ]]; then
  data_dir="$XDG_DATA_HOME/dev.ferry.desktop.test"
  stored="$(sqlite3 -readonly "$FERRY_BENCH_MAIL_DB" 'SELECT COUNT(*) FROM mail_messages')"
  saved="$(mktemp -d)"
  for f in "$data_dir"/ferry.sqlite3*; do [[ -e "$f" ]] && mv "$f" "$saved/"; done
  cp "$FERRY_BENCH_MAIL_DB" "$data_dir/ferry.sqlite3"
  echo
  echo "idling ${idle} s in the tray with ${stored} messages stored ..."
  idle_in_tray "tray only, ${stored} messages stored"
  full_kib="$last_total_kib"
  rm -f "$data_dir"/ferry.sqlite3*
  for f in "$saved"/*; do [[ -e "$f" ]] && mv "$f" "$data_dir/"; done
  rmdir "$saved"
  echo "started hidden with ${stored} messages vs an empty store (PSS): $((full_kib / 1024)) MiB vs $((hidden_kib / 1024)) MiB, $(( (full_kib * 100 / (hidden_kib > 0 ? hidden_kib : 1)) - 100 ))% more"
fi
