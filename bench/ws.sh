#!/usr/bin/env bash
# WebSocket (/api/ws) against SSE (/api/sse/stream) in the same run, on the
# same binary: what an idle connection costs the server in memory, and what
# a delivered update costs it in CPU (issue 16: WS within 10 % of SSE).
#
# Each round starts one fresh server per protocol (the order alternates
# between rounds) and runs tagstream-bench sse on it twice:
#   idle:   --idle N connections (default 1000), one tag each, no updates;
#           the server's RSS and PSS before and after, per connection;
#   active: --streams N connections (default 1000) on --tags T tags (100:
#           ten subscribers per tag, as dashboards share screens), every tag
#           updated --rate HZ (5) for --seconds S through POST /write;
#           server CPU per delivered update, delivery rate, latency.
# The WebSocket client holds one subscription per connection, as the SSE
# client holds one stream: the same events, framed differently.
#
# Usage: bench/ws.sh [--short] [--rounds R] [--seconds S] [--idle N]
#                    [--streams N] [--tags T] [--rate HZ] [--build-dir DIR]
#   --short: 2 rounds of 5 s (about 2 minutes); default 5 rounds of 10 s.
# Prints a Markdown table of medians and the WS/SSE ratios; raw outputs are
# kept in bench/results/ws-<time>/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

short=0
build_dir=build
rounds=
seconds=
idle=1000
streams=1000
tags=100
rate=5
while (($#)); do
  case $1 in
    --short) short=1 ;;
    --rounds) rounds=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --idle) idle=$2; shift ;;
    --streams) streams=$2; shift ;;
    --tags) tags=$2; shift ;;
    --rate) rate=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "ws.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if ((short)); then : "${rounds:=2}" "${seconds:=5}"; else : "${rounds:=5}" "${seconds:=10}"; fi
for v in rounds seconds idle streams tags rate; do
  [[ ${!v} =~ ^[1-9][0-9]{0,4}$ ]] || { echo "ws.sh: --$v must be a positive integer" >&2; exit 2; }
done

source "$ROOT/bench/common.sh"
command -v curl >/dev/null || install_without_services curl
build_bench_binaries ws

work=$(mktemp -d /tmp/tagstream-ws.XXXXXX)
out=$ROOT/bench/results/ws-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"

start_server() {  # NAME: sets srv_port and srv_pid
  local dir=$work/$1
  mkdir -p "$dir"
  srv_port=$(free_port)
  "$tagstream" serve --no-simulator --data-dir "$dir/data" --listen "127.0.0.1:$srv_port" --log-level warn \
    >"$dir/log" 2>&1 &
  srv_pid=$!
  pids+=("$srv_pid")
  wait_until_up "tagstream ($1)" "http://127.0.0.1:$srv_port/healthz" "$srv_pid" "$dir/log"
}

run_round() {  # PROTOCOL ROUND
  local p=$1 r=$2 f
  start_server "$p-r$r"
  f=$out/idle-$p-r$r.txt
  "$bench" sse --protocol "$p" --url "http://127.0.0.1:$srv_port" --streams "$idle" --tags "$idle" \
    --prefix idle --seconds 2 --settle 2 --server-pids "$srv_pid" --label "idle-$p" >"$f" 2>&1 || true
  [[ $(result "$f" ready) == "$idle" ]] || { log "idle $p round $r: not every connection opened"; tail -5 "$f" >&2; }
  echo "$(result "$f" rss_per_stream_b) $(result "$f" pss_per_stream_b)" >>"$work/idle-$p"
  f=$out/active-$p-r$r.txt
  "$bench" sse --protocol "$p" --url "http://127.0.0.1:$srv_port" --streams "$streams" --tags "$tags" \
    --rate "$rate" --seconds "$seconds" --server-pids "$srv_pid" --label "active-$p" >"$f" 2>&1 || true
  local carried
  carried=$(result "$f" carried_pct)
  [[ -n $carried ]] || { log "active $p round $r: no result"; tail -5 "$f" >&2; }
  echo "$(result "$f" cpu_us_per_update) $(result "$f" updates_per_s) $carried $(result "$f" p50_us)" \
    "$(result "$f" p99_us)" >>"$work/active-$p"
  stop_pid "$srv_pid"
}

log "$rounds rounds: $idle idle connections, then $streams on $tags tags at $rate Hz for $seconds s; raw in $out"
for r in $(seq 1 "$rounds"); do
  if ((r % 2)); then order=(sse ws); else order=(ws sse); fi
  for p in "${order[@]}"; do
    log "round $r: $p"
    run_round "$p" "$r"
  done
done

median() {  # FILE COLUMN
  awk -v c="$2" '$c != "" {print $c}' "$1" | sort -g | awk '{v[NR]=$1} END {
    if (NR == 0) {print "-"; exit}
    if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2] + v[NR/2+1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-") printf "%.2f", a / b; else print "-" }'; }

{
  echo "| | SSE | WebSocket | WS / SSE |"
  echo "|---|---:|---:|---:|"
  row() {  # LABEL KIND COLUMN
    local s w
    s=$(median "$work/$2-sse" "$3")
    w=$(median "$work/$2-ws" "$3")
    echo "| $1 | $s | $w | $(ratio "$w" "$s") |"
  }
  row "server RSS per idle connection (B)" idle 1
  row "server PSS per idle connection (B)" idle 2
  row "server CPU per delivered update (us)" active 1
  row "updates delivered per second" active 2
  row "updates carried (%)" active 3
  row "latency p50 (us)" active 4
  row "latency p99 (us)" active 5
  echo
  echo "Medians of $rounds rounds; $(nproc) cores, $(uname -r); build type $build_type."
} | tee "$out/summary.md"
