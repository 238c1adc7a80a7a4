#!/usr/bin/env bash
# Streaming benchmarks: tagstream side by side with nginx + nchan (Debian's
# nginx-light and libnginx-mod-nchan) and with 5-second polling, on this
# machine, same load generator (tagstream-bench sse / poll), same messages.
#
#   bench/streaming.sh           short form of every scenario (about 7 minutes)
#   bench/streaming.sh --full    long form (about 32 minutes; scenarios 2 and 3 three
#                                times per server, the median run reported)
#
# Scenarios:
#   1 idle     10,000 and 18,000 open streams, a heartbeat each: server memory per stream
#   2 fan-out  one tag to 5,000 streams at 100 Hz (saturation) and to 2,000 streams
#              at 20 Hz (moderate), every change sent at once (tagstream
#              --data-check-interval 0): delivered tag updates/s and events/s, CPU per
#              update and per event, latency
#   3 mix      1,000 tags at 1 Hz; 2,000 dashboards of 50 tags from 20 shared layouts;
#              tagstream coalescing 100 ms, nchan one multiplexed EventSource each
#   4 churn    streams opening and closing (50 at a time, 1,000 held open):
#              streams/s, server files and memory afterwards
#   5 polling  100 clients, a 50-tag dashboard: GET /api/data/latest every 5 s with and
#              without ETag vs one SSE stream each (100 ms coalescing): bytes, requests,
#              staleness; with every tag changing every second, and once a minute; the
#              same three again with Accept-Encoding: gzip (bytes compared gzip to gzip)
#
# Options:
#   --full               long form
#   --build-dir DIR      build (or reuse) Release tagstream and tagstream-bench in DIR
#                        (default build-bench)
#   --scenarios LIST     run only these, e.g. 2,3 (default 1,2,3,4,5)
#   --out FILE           also write the report (Markdown) to FILE
#   --results-dir DIR    keep the chart data, SVG charts, profile and raw outputs (raw/) there
#                        (default: bench/results with --full, else DIR/streaming-results
#                        under the build directory)
#   --no-profile         skip the perf profile of scenario 2
#
# It installs what is missing (the build dependencies, nginx-light,
# libnginx-mod-nchan, gnuplot-nox, linux-perf), builds, starts each server
# afresh for each scenario on a free loopback port with its files in a
# temporary directory, prints one Markdown table, and on exit stops what it
# started and removes the temporary directory. Nothing talks to anything but
# 127.0.0.0/8; every run of the load generator stops by itself.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

full=0
build_dir=build-bench
scenarios=1,2,3,4,5
out_file=
results_dir=
profile=1
while (($#)); do
  case $1 in
    --full) full=1 ;;
    --short) full=0 ;;
    --build-dir) build_dir=$2; shift ;;
    --scenarios) scenarios=$2; shift ;;
    --out) out_file=$2; shift ;;
    --results-dir) results_dir=$2; shift ;;
    --no-profile) profile=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "streaming.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ,$scenarios, == *,$1,* ]]; }

# Durations (seconds) of the measured windows, short / full.
# gzip_s: the gzip runs of scenario 5. In the short form they only measure
# bytes, in 6 s: a whole number of polling periods' worth of staggered polls
# (each client polls 6/5 times on average, exactly), of 1 s steps of the fast
# schedule and of 1.2 s steps of the slow one (50 tags once a minute), so
# every rate counts what it should; only the heartbeat (every 5 s) may fall
# once or twice in the window.
if ((full)); then
  idle_s=20 fan_s=20 mix_s=60 churn_s=20 poll_s=60 gzip_s=60 churn_rounds=3 rounds=3
else
  idle_s=6 fan_s=5 mix_s=10 churn_s=5 poll_s=20 gzip_s=6
fi
: "${churn_rounds:=2}" "${rounds:=1}"  # rounds: runs per server of scenarios 2 and 3 (median kept)
heartbeat_s=5          # both servers, so an idle window sees a heartbeat per stream
poll_period=5
poll_clients=100
sources=100            # source addresses 127.0.0.1..100: 180 streams each at most,
                       # under tagstream's default 200 streams per client address

source "$ROOT/bench/common.sh"

# ---------------------------------------------------------------------------
# Install what is missing.
./scripts/install-deps.sh
nchan_module=/usr/lib/nginx/modules/ngx_nchan_module.so
need=()
command -v nginx >/dev/null || need+=(nginx-light)
[[ -f $nchan_module ]] || need+=(libnginx-mod-nchan)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v curl >/dev/null || need+=(curl)
if ((profile)) && ! command -v perf >/dev/null; then need+=(linux-perf); fi
install_without_services "${need[@]}"

# ---------------------------------------------------------------------------
# Build.
build_bench_binaries streaming

if [[ -z $results_dir ]]; then
  if ((full)); then results_dir=$ROOT/bench/results; else results_dir=$build_dir/streaming-results; fi
fi
mkdir -p "$results_dir"
work=$(mktemp -d "${TMPDIR:-/tmp}/streaming-bench.XXXXXX")
raw=$work/raw
mkdir -p "$raw"

threads=$(nproc)
fd_hard=$(ulimit -Hn)
ulimit -Sn "$fd_hard"

# ---------------------------------------------------------------------------
# The server under test: started by start_tagstream / start_nchan, stopped by
# stop_server. srv_pids is what the load generator reads CPU and memory from.
srv_pid=
srv_url=
srv_args=()
start_tagstream() {  # extra serve flags...
  local port dir
  port=$(free_port)
  dir=$(mktemp -d "$work/tagstream.XXXXXX")
  # --log-level warn: no log line per stream (nginx runs with access_log off).
  # --max-streams 19500: the default 10,000 is below scenario 1's 18,000.
  # The new-tag caps: the seed creates up to 99,999 tags at once, in
  # requests of 20,000 lines.
  "$tagstream" serve --no-simulator --data-dir "$dir" --listen "127.0.0.1:$port" --threads "$threads" \
    --log-level warn --heartbeat-interval "$heartbeat_s" --max-streams 19500 \
    --max-new-tags-per-request 100000 --max-new-tags-per-minute 1000000 "$@" >"$dir/log" 2>&1 &
  srv_pid=$!
  pids+=("$srv_pid")
  srv_url=http://127.0.0.1:$port
  wait_until_up tagstream "$srv_url/healthz" "$srv_pid" "$dir/log"
  srv_args=(--server tagstream --url "$srv_url" --server-pids "$srv_pid")
}

start_nchan() {
  local port dir
  port=$(free_port)
  dir=$(mktemp -d "$work/nginx.XXXXXX")
  sed -e "s|@MODULE@|$nchan_module|; s|@WORKERS@|$threads|; s|@NOFILE@|$fd_hard|" \
      -e "s|@CONNECTIONS@|$((fd_hard - 100))|; s|@DIR@|$dir|g; s|@PORT@|$port|; s|@PING@|$heartbeat_s|" \
      bench/nchan/nginx.conf.in >"$dir/nginx.conf"
  nginx -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
  srv_pid=$!
  pids+=("$srv_pid")
  srv_url=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    # Up once the workers are there and the publisher answers.
    if [[ $(pgrep -c -P "$srv_pid" || true) -ge $threads ]] &&
       curl -sf -o /dev/null -X POST --data x "$srv_url/pub/up_check"; then break; fi
    kill -0 "$srv_pid" 2>/dev/null || { cat "$dir/stdout.log" "$dir/error.log" >&2; exit 1; }
    sleep 0.1
  done
  srv_args=(--server nchan --url "$srv_url" --server-pids "$srv_pid" --server-children true)
}

stop_server() {
  [[ -n $srv_pid ]] || return 0
  stop_pid "$srv_pid"
  srv_pid=
}

# run_bench NAME ARGS...: runs tagstream-bench, keeps its output as $raw/NAME.txt.
run_bench() {
  local name=$1; shift
  local f=$raw/$name.txt
  if ! "$bench" "$@" >"$f" 2>&1; then
    log "tagstream-bench $name failed:"
    cat "$f" >&2
    exit 1
  fi
  grep -vE '^(RESULT|sse:|poll:|server processes)' "$f" | sed 's/^/    /' >&2 || true
}

# median_run NAME KEY: of the runs NAME-r1 .. NAME-rN, keeps the one with the
# median KEY as NAME (all its numbers come from that one run) and its latency
# percentiles as lat file; notes every run's KEY for the report.
declare -A round_values
median_run() {
  local name=$1 key=$2 lat=${3:-} i f pick
  local lines=()
  for ((i = 1; i <= rounds; i++)); do
    f=$raw/$name-r$i.txt
    lines+=("$(result "$f" "$key") $i")
  done
  pick=$(printf '%s\n' "${lines[@]}" | sort -g | awk -v n="${#lines[@]}" 'NR == int((n + 1) / 2) { print $2 }')
  cp "$raw/$name-r$pick.txt" "$raw/$name.txt"
  [[ -n $lat ]] && cp "$raw/lat-$name-r$pick.dat" "$results_dir/$lat"
  round_values[$name]=$(printf '%s\n' "${lines[@]}" | awk '{ print $1 }' | paste -sd ' ' -)
}

# ---------------------------------------------------------------------------
# Machine and versions.
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | awk 'NR == 1')
mem=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
kernel=$(uname -r)
os=$(. /etc/os-release && echo "$PRETTY_NAME")
nginx_version=$(nginx -v 2>&1 | sed 's|.*nginx/||')
nchan_version=$(dpkg-query -W -f '${Version}' libnginx-mod-nchan 2>/dev/null || echo '?')
gxx_version=$(c++ --version | awk 'NR == 1')
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ' (with uncommitted changes)' || true)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%MZ)
t_start=$(date +%s)

# ---------------------------------------------------------------------------
# 1. Idle streams: memory per stream. Every stream has its own tag (channel).
if want 1; then
  for n in 10000 18000; do
    for who in tagstream nchan; do
      log "scenario 1: $n idle streams on $who, ${idle_s} s"
      if [[ $who == tagstream ]]; then start_tagstream; else start_nchan; fi
      run_bench "s1-$n-$who" sse "${srv_args[@]}" --label "s1-$n" --prefix idle --streams "$n" \
        --source-addresses "$sources" --seconds "$idle_s" --settle 2 --connect-concurrency 500
      stop_server
    done
  done
fi

# ---------------------------------------------------------------------------
# 2. Fan-out of one tag, every change sent at once. With --full, three rounds
#    alternating the servers, and the median run of each kept.
if want 2; then
  for ((round = 1; round <= rounds; round++)); do
    for load in sat mod; do
      if [[ $load == sat ]]; then n=5000 rate=100; else n=2000 rate=20; fi
      for who in tagstream nchan; do
        log "scenario 2 ($load, round $round/$rounds): one tag at $rate Hz to $n streams on $who, ${fan_s} s"
        if [[ $who == tagstream ]]; then start_tagstream --data-check-interval 0; else start_nchan; fi
        run_bench "s2$load-$who-r$round" sse "${srv_args[@]}" --label "s2-$load" --prefix fan --streams "$n" --tags 1 \
          --rate "$rate" --source-addresses "$sources" --seconds "$fan_s" --drain 3 \
          --hist-out "$raw/lat-s2$load-$who-r$round.dat"
        stop_server
      done
    done
  done
  for who in tagstream nchan; do
    median_run "s2sat-$who" updates_per_s "lat-s2s-$who.dat"
    median_run "s2mod-$who" p99_us "lat-s2m-$who.dat"
  done
  # Where tagstream's time goes at saturation: a CPU profile of the same run.
  if ((profile)); then
    prof=$results_dir/profile-s2-tagstream.txt
    if perf record -q -o "$work/perf-check.data" -- true >/dev/null 2>&1; then
      log "scenario 2 (profile): perf record of tagstream at saturation"
      start_tagstream --data-check-interval 0
      perf record -q -F 499 -p "$srv_pid" -o "$work/perf.data" -- sleep $((fan_s + 4)) >/dev/null 2>&1 &
      perf_pid=$!
      pids+=("$perf_pid")
      run_bench s2prof-tagstream sse "${srv_args[@]}" --label s2-profile --prefix fan --streams 5000 --tags 1 \
        --rate 100 --source-addresses "$sources" --seconds "$fan_s" --drain 1 --settle 1
      wait "$perf_pid" 2>/dev/null || true
      perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio >"$work/perf-report.txt" 2>/dev/null || true
      perf report -i "$work/perf.data" --no-children --sort dso --stdio >"$work/perf-dso.txt" 2>/dev/null || true
      # perf pads its columns and Asio's template names run to pages: trim both.
      trim() { grep -E '^ +[0-9]' "$1" | sed 's/[[:space:]]*-[[:space:]]*-[[:space:]]*$//; s/[[:space:]]*$//; s/^\(.\{200\}\).*/\1…/'; }
      {
        echo "# perf record -F 499 -p <tagstream> during scenario 2 at saturation (5,000 streams, 100 Hz,"
        echo "# --data-check-interval 0), $(date -u +%Y-%m-%dT%H:%MZ). Self time by shared object:"
        trim "$work/perf-dso.txt" | awk 'NR <= 8'
        echo "# Self time by symbol, top 40:"
        trim "$work/perf-report.txt" | awk 'NR <= 40'
      } >"$prof"
      stop_server
    else
      log "perf cannot record here; profiling with valgrind --tool=callgrind (short run, slow)"
      command -v valgrind >/dev/null || "${as_root[@]}" apt-get install -y -qq valgrind >/dev/null
      port=$(free_port)
      dir=$(mktemp -d "$work/tagstream.XXXXXX")
      valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$tagstream" serve --no-simulator \
        --data-dir "$dir" --listen "127.0.0.1:$port" --threads "$threads" --log-level warn \
        --data-check-interval 0 >"$dir/log" 2>&1 &
      srv_pid=$!
      pids+=("$srv_pid")
      srv_url=http://127.0.0.1:$port
      for _ in $(seq 1 300); do curl -sf -o /dev/null "$srv_url/healthz" && break; sleep 0.1; done
      srv_args=(--server tagstream --url "$srv_url" --server-pids "$srv_pid")
      run_bench s2prof-tagstream sse "${srv_args[@]}" --label s2-profile --prefix fan --streams 500 --tags 1 \
        --rate 100 --source-addresses "$sources" --seconds 5 --drain 2
      stop_server
      callgrind_annotate "$work/callgrind.out" 2>/dev/null | awk 'NR <= 60' >"$prof" || true
    fi
  fi
fi

# ---------------------------------------------------------------------------
# 3. SCADA mix: 1,000 tags at 1 Hz, 2,000 dashboards of 50 tags (20 layouts).
if want 3; then
  for ((round = 1; round <= rounds; round++)); do
    for who in tagstream nchan; do
      log "scenario 3 (round $round/$rounds): 1,000 tags at 1 Hz, 2,000 dashboards x 50 tags on $who, ${mix_s} s"
      if [[ $who == tagstream ]]; then start_tagstream --data-check-interval 0.1; else start_nchan; fi
      run_bench "s3-$who-r$round" sse "${srv_args[@]}" --label s3 --prefix mix --streams 2000 --tags 1000 \
        --tags-per-stream 50 --layouts 20 --rate 1 --source-addresses "$sources" --seconds "$mix_s" --drain 3 \
        --hist-out "$raw/lat-s3-$who-r$round.dat"
      stop_server
    done
  done
  for who in tagstream nchan; do median_run "s3-$who" cpu_us_per_update "lat-s3-$who.dat"; done
fi

# ---------------------------------------------------------------------------
# 4. Churn: 50 slots opening and closing streams, 1,000 streams held open.
if want 4; then
  for who in tagstream nchan; do
    log "scenario 4: churn on $who, $churn_rounds rounds of ${churn_s} s"
    if [[ $who == tagstream ]]; then start_tagstream; else start_nchan; fi
    run_bench "s4-$who" sse "${srv_args[@]}" --label s4 --prefix churn --streams 1000 --tags 1000 \
      --churn-concurrency 50 --churn-rounds "$churn_rounds" --source-addresses "$sources" --seconds "$churn_s" --settle 2
    stop_server
  done
fi

# ---------------------------------------------------------------------------
# 5. Polling vs SSE for a 50-tag dashboard (tagstream only, default
#    coalescing), at two change rates: every tag every second ("fast"), and
#    every tag once a minute ("slow": change-only data behind a deadband, the
#    usual case in SCADA).
if want 5; then
  for speed in fast slow; do
    if [[ $speed == fast ]]; then rate=1; else rate=0.0166667; fi
    # -gz: the same with Accept-Encoding: gzip (tagstream's default --sse-gzip).
    for mode in etag noetag sse etag-gz noetag-gz sse-gz; do
      if [[ $mode == *-gz ]]; then gz=true secs=$gzip_s; else gz=false secs=$poll_s; fi
      log "scenario 5 ($speed): $poll_clients clients, 50 tags at $rate Hz each, $mode, ${secs} s"
      start_tagstream
      if [[ $mode == sse* ]]; then
        run_bench "s5$speed-$mode" sse "${srv_args[@]}" --label "s5-$speed-$mode" --prefix poll --streams "$poll_clients" \
          --tags 50 --tags-per-stream 50 --layouts 1 --rate "$rate" --source-addresses 4 --seconds "$secs" --drain 2 \
          --gzip "$gz"
      else
        run_bench "s5$speed-$mode" poll --url "$srv_url" --server-pids "$srv_pid" --label "s5-$speed-$mode" \
          --prefix poll --clients "$poll_clients" --tags 50 --rate "$rate" --period "$poll_period" \
          --seconds "$secs" --etag "$([[ $mode == etag* ]] && echo true || echo false)" --gzip "$gz"
      fi
      stop_server
    done
  done
fi

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(( $(date +%s) - t_start ))

# ---------------------------------------------------------------------------
# Report.
r() { local f=$raw/$1.txt; [[ -f $f ]] && result "$f" "$2" || echo ""; }
num() { [[ -n $1 ]] && printf '%s' "$1" || printf 'n/a'; }
fmt_int() { [[ -n $1 ]] && printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' || printf 'n/a'; }
fmt() { [[ -n $2 ]] && printf "%.${1}f" "$2" || printf 'n/a'; }
ms() { [[ -n $1 ]] && awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000 }' || printf 'n/a'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 > 0) printf "%.3g×", a / b; else print "n/a" }'; }
# verdict A OP B: met when A OP B holds (OP: <= or >=).
verdict() {
  if [[ -z $1 || -z $3 ]]; then echo "n/a"; return; fi
  if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN { ok = op == ">=" ? a + 0 >= b + 0 : a + 0 <= b + 0; exit !ok }'; then
    echo "met"
  else
    echo "**missed**"
  fi
}
q() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 > 0) printf "%.4g", a / b }'; }

rows=()
row() { local IFS='|'; rows+=("| $* |"); }

if want 1; then
  for n in 10000 18000; do
    t=s1-$n-tagstream c=s1-$n-nchan
    tm=$(r "$t" pss_per_stream_b) cm=$(r "$c" pss_per_stream_b)
    row " 1 idle, $(fmt_int "$n") streams: server memory per stream (PSS growth) " " $(fmt_int "$tm") B " \
        " $(fmt_int "$cm") B (nchan) " " $(ratio "$tm" "$cm") " " ≤ 0.4× nchan and < 4 KiB " \
        " $( [[ $(verdict "$(q "$tm" "$cm")" "<=" 0.4) == met && $(verdict "$tm" "<=" 4096) == met ]] && echo met || echo '**missed**') "
    errs() { awk -v a="$(r "$1" connect_failures)" -v b="$(r "$1" drops)" -v h="$(r "$1" http_errors)" 'BEGIN { printf "%d%s", a + b, (h != "none" && h != "") ? " (HTTP " h ")" : "" }'; }
    row " 1 idle, $(fmt_int "$n") streams: ready / heartbeats in ${idle_s} s / connects per s / errors " \
        " $(r "$t" ready) / $(fmt_int "$(r "$t" heartbeats)") / $(fmt_int "$(r "$t" connect_per_s)") / $(errs "$t") " \
        " $(r "$c" ready) / $(fmt_int "$(r "$c" heartbeats)") / $(fmt_int "$(r "$c" connect_per_s)") / $(errs "$c") " " " " " " "
  done
fi
if want 2; then
  # Judged per tag update: an nchan event is one update; a tagstream event
  # holds every update of the tag that one write request brought (the
  # publisher keeps a tag's updates in order, one request in flight, and
  # tagstream answers a write once it is durable). Events are shown beside.
  t=s2sat-tagstream c=s2sat-nchan
  tu=$(r "$t" updates_per_s) cu=$(r "$c" updates_per_s)
  tc=$(r "$t" cpu_us_per_update) cc=$(r "$c" cpu_us_per_update)
  row " 2 fan-out 5,000 streams × 100 Hz (saturation): delivered tag updates/s (events/s; carried %; updates published of scheduled) " \
      " $(fmt_int "$tu") ($(fmt_int "$(r "$t" events_per_s)"); $(fmt 1 "$(r "$t" carried_pct)") %; $(r "$t" published) of $(r "$t" scheduled)) " \
      " $(fmt_int "$cu") ($(fmt_int "$(r "$c" events_per_s)"); $(fmt 1 "$(r "$c" carried_pct)") %; $(r "$c" published) of $(r "$c" scheduled)) " \
      " $(ratio "$tu" "$cu") " " ≥ 1.3× nchan " " $(verdict "$(q "$tu" "$cu")" ">=" 1.3) "
  row " 2 fan-out saturation: server CPU µs per delivered tag update (per event) " \
      " $(fmt 2 "$tc") ($(fmt 2 "$(r "$t" cpu_us_per_event)")) " " $(fmt 2 "$cc") ($(fmt 2 "$(r "$c" cpu_us_per_event)")) " \
      " $(ratio "$tc" "$cc") " " ≤ 0.8× nchan " " $(verdict "$(q "$tc" "$cc")" "<=" 0.8) "
  row " 2 fan-out saturation: latency p50 / p99 (ms) " " $(ms "$(r "$t" p50_us)") / $(ms "$(r "$t" p99_us)") " \
      " $(ms "$(r "$c" p50_us)") / $(ms "$(r "$c" p99_us)") " " " " " " "
  t=s2mod-tagstream c=s2mod-nchan
  tp=$(r "$t" p99_us) cp=$(r "$c" p99_us)
  row " 2 fan-out 2,000 streams × 20 Hz (moderate): latency p50 / p99 / p99.9 (ms) " \
      " $(ms "$(r "$t" p50_us)") / $(ms "$tp") / $(ms "$(r "$t" p999_us)") " \
      " $(ms "$(r "$c" p50_us)") / $(ms "$cp") / $(ms "$(r "$c" p999_us)") " " $(ratio "$tp" "$cp") (p99) " \
      " p99 ≤ 0.5× nchan " " $(verdict "$(q "$tp" "$cp")" "<=" 0.5) "
  tc=$(r "$t" cpu_us_per_event) cc=$(r "$c" cpu_us_per_event)
  row " 2 fan-out moderate: server CPU µs per delivered event (carried %) " \
      " $(fmt 2 "$tc") ($(fmt 1 "$(r "$t" carried_pct)") %) " " $(fmt 2 "$cc") ($(fmt 1 "$(r "$c" carried_pct)") %) " \
      " $(ratio "$tc" "$cc") " " ≤ 0.8× nchan (both carry every event) " " $(verdict "$(q "$tc" "$cc")" "<=" 0.8) "
fi
if want 3; then
  t=s3-tagstream c=s3-nchan
  tc=$(r "$t" cpu_us_per_update) cc=$(r "$c" cpu_us_per_update)
  row " 3 SCADA mix: delivered tag updates/s (carried %, updates missing) / events/s " \
      " $(fmt_int "$(r "$t" updates_per_s)") ($(fmt 2 "$(r "$t" carried_pct)") %, $(fmt_int "$(r "$t" missing_updates)")) / $(fmt_int "$(r "$t" events_per_s)") " \
      " $(fmt_int "$(r "$c" updates_per_s)") ($(fmt 2 "$(r "$c" carried_pct)") %, $(fmt_int "$(r "$c" missing_updates)")) / $(fmt_int "$(r "$c" events_per_s)") " \
      " " " every update carried " " $( [[ $(r "$t" missing_updates) == 0 ]] && echo met || echo '**missed**') "
  row " 3 SCADA mix: server CPU µs per delivered tag update " " $(fmt 3 "$tc") " " $(fmt 3 "$cc") " \
      " $(ratio "$tc" "$cc") " " ≤ 0.2× nchan " " $(verdict "$(q "$tc" "$cc")" "<=" 0.2) "
  row " 3 SCADA mix: latency p50 / p99 / p99.9 (ms) " \
      " $(ms "$(r "$t" p50_us)") / $(ms "$(r "$t" p99_us)") / $(ms "$(r "$t" p999_us)") " \
      " $(ms "$(r "$c" p50_us)") / $(ms "$(r "$c" p99_us)") / $(ms "$(r "$c" p999_us)") " " " " " " "
  row " 3 SCADA mix: server CPU s in the window / memory per stream " \
      " $(r "$t" server_cpu_s) / $(fmt_int "$(r "$t" pss_per_stream_b)") B " \
      " $(r "$c" server_cpu_s) / $(fmt_int "$(r "$c" pss_per_stream_b)") B " " " " " " "
fi
if want 4; then
  t=s4-tagstream c=s4-nchan
  # memory/fds after each round, "a → b → c"
  trail() { local f=$1 key=$2 out i; out=$(fmt_int "$(r "$f" "${key/ROUND/before}")")
    for ((i = 1; i <= churn_rounds; i++)); do out+=" → $(fmt_int "$(r "$f" "round${i}_${key/ROUND_/}")")"; done; echo "$out"; }
  row " 4 churn: streams opened and closed per s (server CPU µs per stream, round 1) " \
      " $(fmt_int "$(r "$t" per_s)") ($(r "$t" round1_cpu_us_per_stream)) " \
      " $(fmt_int "$(r "$c" per_s)") ($(r "$c" round1_cpu_us_per_stream)) " " $(ratio "$(r "$t" per_s)" "$(r "$c" per_s)") " " " " "
  row " 4 churn: server fds before → after each round " " $(r "$t" fds_before) → $(r "$t" round1_fds) … $(r "$t" round${churn_rounds}_fds) " \
      " $(r "$c" fds_before) → $(r "$c" round1_fds) … $(r "$c" round${churn_rounds}_fds) " " " " no growth " \
      " $(verdict "$(r "$t" round${churn_rounds}_fds)" "<=" "$(r "$t" fds_before)") "
  row " 4 churn: server PSS before → after each round (KiB) " " $(trail "$t" pss_ROUND_kib) " " $(trail "$c" pss_ROUND_kib) " \
      " " " no growth after round 1 " \
      " $(awk -v a="$(r "$t" round1_pss_kib)" -v b="$(r "$t" round${churn_rounds}_pss_kib)" 'BEGIN { if (a == "") print "n/a"; else print (b - a <= 0.02 * a) ? "met" : "**missed**" }') "
  row " 4 churn: connect time p50 / p99 (ms), failures " \
      " $(ms "$(r "$t" connect_p50_us)") / $(ms "$(r "$t" connect_p99_us)"), $(r "$t" connect_failures) " \
      " $(ms "$(r "$c" connect_p50_us)") / $(ms "$(r "$c" connect_p99_us)"), $(r "$c" connect_failures) " " " " " " "
fi
gzip_notes=
if want 5; then
  # plain_mark FILE KEY: a note when the server compressed nothing in a gzip run.
  plain_mark() { [[ $(r "$1" "$2") == 0 ]] && printf ' (not compressed)' || true; }
  fewer() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 <= 0) print "n/a"; else if (a <= b) printf "%.1f %% fewer", 100 * (1 - a / b); else printf "%.2f× more", a / b }'; }
  for speed in fast slow; do
    s=s5$speed-sse e=s5$speed-etag p=s5$speed-noetag
    if [[ $speed == fast ]]; then what="50 tags changing every second"; else what="50 tags changing once a minute"; fi
    sb=$(r "$s" stream_bytes_per_min) pb=$(r "$p" bytes_per_client_min) eb=$(r "$e" bytes_per_client_min)
    row " 5 polling vs SSE, $what: bytes per client-minute (SSE / poll / poll+ETag) " " $(fmt_int "$sb") " \
        " $(fmt_int "$pb") / $(fmt_int "$eb") " " $(fewer "$sb" "$pb") / $(fewer "$sb" "$eb") " " ≥ 95 % fewer " \
        " $(verdict "$(q "$sb" "$eb")" "<=" 0.05) "
    # A healthy stream makes no request after the one that opened it: over an
    # hour-long dashboard session that is 1/60 request per minute.
    sr=$(awk -v rc="$(r "$s" reconnects)" -v w="$(r "$s" window_s)" 'BEGIN { printf "%.4f", 1 / 60 + (w > 0 ? rc / (w / 60) : 0) }')
    pr=$(r "$p" requests_per_client_min) er=$(r "$e" requests_per_client_min)
    row " 5 polling vs SSE, $what: requests per client-minute (SSE: 1 per hour-long session, $(r "$s" reconnects) reconnects in the window) " \
        " $sr " " $(fmt 1 "$pr") / $(fmt 1 "$er") ($(r "$e" not_modified) × 304) " " $(fewer "$sr" "$pr") " " ≥ 98 % fewer " \
        " $(verdict "$(q "$sr" "$pr")" "<=" 0.02) "
    row " 5 polling vs SSE, $what: updates received per client-minute (SSE carried %) " \
        " $(awk -v n="$(r "$s" delivered_updates)" -v c="$poll_clients" -v w="$(r "$s" window_s)" 'BEGIN { if (w > 0) printf "%.0f", n / c / (w / 60) }') ($(fmt 1 "$(r "$s" carried_pct)") %) " \
        " $(awk -v n="$(r "$p" updates_seen)" -v c="$poll_clients" -v w="$(r "$p" window_s)" 'BEGIN { if (w > 0) printf "%.0f", n / c / (w / 60) }') seen, of which the latest per poll shown " \
        " " " " " "
    row " 5 polling vs SSE, $what: staleness p50 / p99 / max (ms) " \
        " $(ms "$(r "$s" p50_us)") / $(ms "$(r "$s" p99_us)") / $(ms "$(r "$s" max_us)") " \
        " $(ms "$(r "$p" staleness_p50_us)") / $(ms "$(r "$p" staleness_p99_us)") / $(ms "$(r "$p" staleness_max_us)") " \
        " " " < 100 ms " " $(verdict "$(r "$s" p99_us)" "<=" 100000) (p99) "
    row " 5 polling vs SSE, $what: server CPU ms per client-minute (SSE / poll / poll+ETag) " \
        " $(awk -v c="$(r "$s" server_cpu_s)" -v n="$poll_clients" -v w="$(r "$s" window_s)" 'BEGIN { if (w > 0) printf "%.3f", c * 1000 / (n * w / 60) }') " \
        " $(fmt 3 "$(r "$p" server_cpu_ms_per_client_min)") / $(fmt 3 "$(r "$e" server_cpu_ms_per_client_min)") " " " " " " "
    # With gzip on both sides (bytes on the wire, compressed): a run the server
    # answered uncompressed is marked, not passed off as compressed.
    sz=$s-gz ez=$e-gz pz=$p-gz
    sbz=$(r "$sz" stream_bytes_per_min) pbz=$(r "$pz" bytes_per_client_min) ebz=$(r "$ez" bytes_per_client_min)
    row " 5 polling vs SSE, $what, gzip: bytes per client-minute (SSE+gzip / poll+gzip / poll+ETag+gzip) " \
        " $(fmt_int "$sbz")$(plain_mark "$sz" gzip_streams) " \
        " $(fmt_int "$pbz")$(plain_mark "$pz" gzip_answers) / $(fmt_int "$ebz")$(plain_mark "$ez" gzip_answers) " \
        " $(fewer "$sbz" "$pbz") / $(fewer "$sbz" "$ebz") " " " " "
    row " 5 polling vs SSE, $what: SSE+gzip vs plain polling, as dashboards did before (bytes per client-minute) " \
        " $(fmt_int "$sbz")$(plain_mark "$sz" gzip_streams) " " $(fmt_int "$pb") " " $(fewer "$sbz" "$pb") " " " " "
    gzip_notes+=" ${speed}: SSE $(r "$sz" gzip_streams) of $(r "$sz" ready) streams compressed, $(fmt 1 "$(r "$sz" carried_pct)") % carried ($(fmt 1 "$(r "$s" carried_pct)") % plain), $(fmt_int "$(r "$sz" decoded_bytes_per_min)") B/min decoded; poll $(r "$pz" gzip_answers) and poll+ETag $(r "$ez" gzip_answers) answers compressed; inflate errors $(awk -v a="$(r "$sz" gzip_errors)" -v b="$(r "$pz" gzip_errors)" -v c="$(r "$ez" gzip_errors)" 'BEGIN { print a + b + c }')."
  done
fi

# Chart data and charts (gnuplot) from this run.
{
  echo '"fan-out saturation" '"$(r s2sat-tagstream cpu_us_per_update) $(r s2sat-nchan cpu_us_per_update)"
  echo '"fan-out moderate" '"$(r s2mod-tagstream cpu_us_per_update) $(r s2mod-nchan cpu_us_per_update)"
  echo '"SCADA mix" '"$(r s3-tagstream cpu_us_per_update) $(r s3-nchan cpu_us_per_update)"
} >"$results_dir/cpu.dat"
{
  echo '"10,000 idle streams" '"$(r s1-10000-tagstream pss_per_stream_b) $(r s1-10000-nchan pss_per_stream_b)"
  echo '"18,000 idle streams" '"$(r s1-18000-tagstream pss_per_stream_b) $(r s1-18000-nchan pss_per_stream_b)"
} >"$results_dir/mem.dat"
charts=""
if want 1 && want 2 && want 3; then
  if gnuplot -e "dir='$results_dir'; out='$results_dir'" bench/streaming_charts.gp 2>"$work/gnuplot.err"; then
    charts="streaming-latency.svg, streaming-cpu.svg, streaming-memory.svg in $results_dir"
  else
    log "gnuplot failed:"; cat "$work/gnuplot.err" >&2
  fi
fi
mkdir -p "$results_dir/raw"
cp "$raw"/*.txt "$results_dir/raw/" 2>/dev/null || true

mode=$( ((full)) && echo full || echo short)
report=$(cat <<EOF
### Streaming: tagstream vs nginx $nginx_version + nchan $nchan_version and 5-second polling ($started, $mode form, ${elapsed} s)

| scenario: metric | tagstream | nginx + nchan (or polling) | tagstream / peer | goal | met? |
|---|---:|---:|---:|---|---|
$(printf '%s\n' "${rows[@]}")

$( ((rounds > 1)) && echo "- Scenarios 2 and 3: $rounds rounds per server, alternating; the table shows the median run (by delivered tag updates/s at saturation, p99 at moderate load, CPU per update in the mix). All rounds: saturation updates/s tagstream ${round_values[s2sat-tagstream]:-}, nchan ${round_values[s2sat-nchan]:-}; moderate p99 µs tagstream ${round_values[s2mod-tagstream]:-}, nchan ${round_values[s2mod-nchan]:-}; mix CPU µs/update tagstream ${round_values[s3-tagstream]:-}, nchan ${round_values[s3-nchan]:-}." )
- Windows: idle ${idle_s} s, fan-out ${fan_s} s, mix ${mix_s} s, churn $churn_rounds × ${churn_s} s, polling ${poll_s} s (its gzip runs ${gzip_s} s). Latency: publish (wall clock, in the value) to the read that delivered it; CPU: utime+stime of every server thread/process over the window and until the last delivery; memory: PSS growth from before the streams to after they connected, divided by the streams (user space only; kernel socket buffers are not included).
- Servers: tagstream \`--threads $threads --log-level warn --heartbeat-interval $heartbeat_s --max-streams 19500\`, \`--data-check-interval 0\` in scenario 2, 0.1 (default) in 3 and 5, default \`--sync full\` (every sample is also committed to SQLite); nginx \`worker_processes $threads\`, \`access_log off\`, nchan in-memory, \`nchan_subscriber_first_message newest\`, ping every $heartbeat_s s (bench/nchan/nginx.conf.in). Each scenario starts each server afresh.
$( [[ -n $gzip_notes ]] && echo "- Scenario 5 with gzip: every request says Accept-Encoding: gzip; bytes are counted as read from the socket (compressed, headers included), events and polling answers are inflated before they are read, so the counts and staleness mean what they do uncompressed. The gzip rows' % fewer compares gzip with gzip; the last row compares SSE+gzip with the plain polling dashboards did before.$( ((full)) || echo " Short form: the gzip runs are ${gzip_s} s windows, not ${poll_s} s (bytes per minute only; the window holds whole steps of both update schedules and of the polling period, a heartbeat may fall once or twice in it).")$gzip_notes" )
- Load generator: one tagstream-bench process on the same $(nproc) cores: one epoll thread reads every stream, a second publishes on schedule; its own CPU is in the raw outputs (client_cpu_s). Publishing: nchan gets one POST per update on up to 64 connections; tagstream gets line protocol, the updates due together in one request, each tag's in order (its next request waits for the answer to the previous one, which tagstream gives once the write is durable, \`--sync full\`), so at 100 Hz a tagstream event can hold more than one update of the tag.
- Machine: $(nproc) cores ($cpu_model), $mem RAM, $os, kernel $kernel; open-file limit $fd_hard; load average $load_start at the start, $load_end at the end (the machine is shared).
- Versions: tagstream $rev$dirty ($build_type, $gxx_version); nginx $nginx_version (nginx-light), libnginx-mod-nchan $nchan_version.
$( [[ -n $charts ]] && echo "- Charts: $charts." )
$( [[ -f ${prof:-/nonexistent} ]] && echo "- Profile of scenario 2 (tagstream at saturation), top self costs: $results_dir/profile-s2-tagstream.txt" )
EOF
)
printf '\n%s\n' "$report"
if [[ -f ${prof:-/nonexistent} ]]; then
  printf '\nTop of the scenario 2 profile (tagstream, self time):\n'
  grep -vE '^#' "$prof" | awk 'NR <= 15' || true
fi
if [[ -n $out_file ]]; then printf '%s\n' "$report" >"$out_file"; log "report written to $out_file"; fi
