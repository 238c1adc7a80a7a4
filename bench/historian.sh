#!/usr/bin/env bash
# Side-by-side historian benchmark: tagstream against InfluxDB 1.6.7 (Debian's
# `influxdb` package) on this machine, same data, same client.
#
#   bench/historian.sh            full run: 3 rounds of 20 s ingest, one year of
#                                 minute data for 10 tags, 200 history requests
#   bench/historian.sh --short    quick run: 1 round of 5 s, one month, 50 requests
#
# Options:
#   --build-dir DIR        build (or reuse) tagstream and tagstream-bench in DIR
#                          (default: build-bench; `--build-dir build` reuses make's)
#   --ingest-seconds N     seconds per ingest run (default 20, --short 5)
#   --ingest-rounds N      ingest runs per server, alternating; medians reported (3, --short 1)
#   --connections N        keep-alive connections of the ingest client (4)
#   --tags N               distinct tags in the ingest benchmark (1000)
#   --history-days N       days of minute data for the history benchmark (365, --short 30)
#   --history-requests N   sequential requests per history query (200, --short 50)
#   --history-seconds N    time cap per history query; fewer requests are made when
#                          it is reached, and the table says how many (120, --short 60)
#   --tagstream-sync MODE  full (default, tagstream's default) or normal
#   --out FILE             also write the report (Markdown) to FILE
#
# It installs what is missing (the build dependencies, influxdb, curl, jq),
# builds Release binaries, starts both servers on free loopback ports with
# their data in a temporary directory, runs the benchmarks, prints a Markdown
# report, and on exit stops what it started and removes the temporary
# directory. Nothing talks to anything but 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

short=0
build_dir=build-bench
ingest_seconds=
ingest_rounds=
connections=4
ingest_tags=1000
lines_per_request=5000
history_days=
history_requests=
history_seconds=
tagstream_sync=full
out_file=

while (($#)); do
  case $1 in
    --short) short=1 ;;
    --build-dir) build_dir=$2; shift ;;
    --ingest-seconds) ingest_seconds=$2; shift ;;
    --ingest-rounds) ingest_rounds=$2; shift ;;
    --connections) connections=$2; shift ;;
    --tags) ingest_tags=$2; shift ;;
    --history-days) history_days=$2; shift ;;
    --history-requests) history_requests=$2; shift ;;
    --history-seconds) history_seconds=$2; shift ;;
    --tagstream-sync) tagstream_sync=$2; shift ;;
    --out) out_file=$2; shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "historian.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if ((short)); then
  : "${ingest_seconds:=5}" "${ingest_rounds:=1}" "${history_days:=30}" "${history_requests:=50}" "${history_seconds:=60}"
else
  : "${ingest_seconds:=20}" "${ingest_rounds:=3}" "${history_days:=365}" "${history_requests:=200}" "${history_seconds:=120}"
fi
case $tagstream_sync in full|normal) ;; *) echo "--tagstream-sync must be full or normal" >&2; exit 2 ;; esac

source "$ROOT/bench/common.sh"

# ---------------------------------------------------------------------------
# Install what is missing.
./scripts/install-deps.sh
need=()
command -v influxd >/dev/null || need+=(influxdb)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
install_without_services "${need[@]}"

# ---------------------------------------------------------------------------
# Build.
jobs=${JOBS:-2}
log "building Release tagstream and tagstream-bench in $build_dir (-j$jobs)"
build_log=$(mktemp /tmp/historian-build.XXXXXX)
# Quiet unless it fails (CMake's FindBoost warnings are noise here).
quiet() { "$@" >>"$build_log" 2>&1 || { cat "$build_log" >&2; rm -f "$build_log"; exit 1; }; }
if [[ $build_dir == build-bench || ! -f $build_dir/CMakeCache.txt ]]; then
  quiet cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTAGSTREAM_TESTS=OFF
fi
quiet cmake --build "$build_dir" -j "$jobs" --target tagstream tagstream-bench
rm -f "$build_log"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
tagstream=$ROOT/$build_dir/tagstream
bench=$ROOT/$build_dir/tagstream-bench
[[ $build_dir = /* ]] && tagstream=$build_dir/tagstream && bench=$build_dir/tagstream-bench

work=$(mktemp -d "${TMPDIR:-/tmp}/historian-bench.XXXXXX")

# ---------------------------------------------------------------------------
# Helpers.

# ---------------------------------------------------------------------------
# Start tagstream.
mkdir -p "$work/tagstream"
log "starting tagstream (--sync $tagstream_sync)"
# Retention: both servers keep every sample of the test (InfluxDB's default
# retention policy is infinite; tagstream's defaults would delete raw samples
# older than 30 days and per-second rows older than 90 days in the
# background, in the middle of the history measurements).
# (The log is created here: the background child opens it only when it runs.)
: >"$work/tagstream.log"
# No per-client request rate limits: one load generator on one address
# measures the engine, not the limiter that protects it on a plant network.
"$tagstream" serve --no-simulator --data-dir "$work/tagstream" --listen 127.0.0.1:0 \
  --sync "$tagstream_sync" --retention-raw forever --retention-second forever \
  --max-tags 2000000 --max-new-tags-per-request 1000000 --max-new-tags-per-minute 10000000 \
  --write-rate-limit 0 --history-rate-limit 0 \
  >>"$work/tagstream.log" 2>&1 &
ts_pid=$!
pids+=("$ts_pid")
ts_port=
for _ in $(seq 1 300); do
  ts_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/tagstream.log" | head -1)
  [[ -n $ts_port ]] && break
  kill -0 "$ts_pid" 2>/dev/null || { cat "$work/tagstream.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $ts_port ]] || { echo "tagstream did not start" >&2; cat "$work/tagstream.log" >&2; exit 1; }
ts_url=http://127.0.0.1:$ts_port

# ---------------------------------------------------------------------------
# Start InfluxDB (bench/common.sh): its default durability, the WAL fsynced
# before a write is answered (as tagstream's --sync full commits before it
# answers).
start_influxdb "$work/influxdb"

# ---------------------------------------------------------------------------
# Machine and versions.
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
kernel=$(uname -r)
os=$(. /etc/os-release && echo "$PRETTY_NAME")
fs=$(df -T "$work" | awk 'NR==2 {print $2 " on " $1}')
sqlite_version=$(pkg-config --modversion sqlite3 2>/dev/null || echo '?')
gxx_version=$(c++ --version | head -1)
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ' (with uncommitted changes)' || true)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------
# 1. Ingest: the same line protocol to both, alternating, one sample per tag
#    per second. Every run gets its own span of timestamps (room for 5 million
#    samples/s), later runs later, all ending over a day ago: nothing is
#    overwritten and every sample is newer than its tag's latest (live).
now=$(date +%s)
span=$((ingest_seconds * 5000000 / ingest_tags + 1000))
declare -a ts_rate if_rate ts_p50 if_p50 ts_p99 if_p99
for ((r = 0; r < ingest_rounds; r++)); do
  start=$(((now - 86400 - (ingest_rounds - r) * span) * 1000000000))
  for who in tagstream influxdb; do
    if [[ $who == tagstream ]]; then url="$ts_url/write"; pid=$ts_pid; else url="$if_url/write?db=bench"; pid=$if_pid; fi
    wait_idle "$pid" "$who"
    log "ingest round $((r + 1))/$ingest_rounds: $who, ${ingest_seconds} s, $connections connections x $lines_per_request lines, $ingest_tags tags"
    f=$work/ingest-$who-$r.txt
    "$bench" ingest --url "$url" --connections "$connections" --lines-per-request "$lines_per_request" \
      --tags "$ingest_tags" --seconds "$ingest_seconds" --precision ns --start "$start" >"$f" ||
      { cat "$f" >&2; exit 1; }
    grep -E '^(samples/s|elapsed)' "$f" | sed 's/^/    /' >&2
    if [[ $who == tagstream ]]; then
      ts_rate+=("$(result "$f" samples_per_s)"); ts_p50+=("$(result "$f" p50_ms)"); ts_p99+=("$(result "$f" p99_ms)")
    else
      if_rate+=("$(result "$f" samples_per_s)"); if_p50+=("$(result "$f" p50_ms)"); if_p99+=("$(result "$f" p99_ms)")
    fi
  done
done
ingest_first_line=$(sed -n 's/^first line: //p' "$work/ingest-tagstream-0.txt")

# ---------------------------------------------------------------------------
# 2. Load the history: minute data for 10 tags over history_days days ending at
#    the last whole hour (so the hour and day tiers line up with the range),
#    5,000-line requests at precision=s, into both.
hist_tags=10
hist_to=$(( $(date +%s) / 3600 * 3600 ))
hist_from=$((hist_to - history_days * 86400))
hist_points=$((history_days * 1440))
hist_lines=$((hist_points * hist_tags))
declare -A load_s load_rate
for who in tagstream influxdb; do
  if [[ $who == tagstream ]]; then url="$ts_url/write"; pid=$ts_pid; else url="$if_url/write?db=bench"; pid=$if_pid; fi
  wait_idle "$pid" "$who"
  log "loading $history_days days of minute data for $hist_tags tags ($(fmt_int "$hist_lines") lines) into $who"
  f=$work/load-$who.txt
  "$bench" ingest --url "$url" --connections "$connections" --lines-per-request "$lines_per_request" \
    --tags "$hist_tags" --seconds 0 --lines "$hist_lines" --precision s --start "$hist_from" --step 60 \
    --measurement hist --signal wave --retry-busy true >"$f" || { cat "$f" >&2; exit 1; }
  grep -E '^(samples/s|elapsed)' "$f" | sed 's/^/    /' >&2
  load_s[$who]=$(result "$f" elapsed_s)
  load_rate[$who]=$(result "$f" samples_per_s)
done
hist_first_line=$(sed -n 's/^first line: //p' "$work/load-tagstream.txt")

# Let both settle (InfluxDB compacts, tagstream checkpoints) before reading.
log "waiting for both servers to go idle"
sleep 5
wait_idle "$ts_pid" tagstream
wait_idle "$if_pid" influxdb

# ---------------------------------------------------------------------------
# 3. History: maxPoints=1000 over the whole span, one tag and all 10.
one_tag="tags[]=hist.d0.v"
all_tags=$(for i in $(seq 0 $((hist_tags - 1))); do printf 'tags[]=hist.d%d.v&' "$i"; done)
all_tags=${all_tags%&}
ts_q1="$ts_url/api/data/history?$one_tag&from=$hist_from&to=$hist_to&maxPoints=1000"
ts_q10="$ts_url/api/data/history?$all_tags&from=$hist_from&to=$hist_to&maxPoints=1000"

# The group width tagstream chose (range/1000 rounded up to whole stored
# buckets); InfluxDB groups by the same width, aligned on `from`, so both
# answer the same buckets.
curl -sf "$ts_q1" >"$work/ts-q1.json"
bucket_s=$(( $(jq -r '.bucketMs' "$work/ts-q1.json") / 1000 ))
ts_tier=$(jq -r '.tier' "$work/ts-q1.json")
influx_history_urls "$hist_from" "$hist_to" "$bucket_s"

# Both must hold all the data: the counts of the answers add up to every point.
curl -sf "$ts_q10" >"$work/ts-q10.json"
curl -sf "$if_q1" >"$work/if-q1.json"
curl -sf "$if_q10" >"$work/if-q10.json"
ts_n1=$(jq '[.series[].points[].count] | add' "$work/ts-q1.json")
ts_n10=$(jq '[.series[].points[].count] | add' "$work/ts-q10.json")
if_n1=$(influx_count "$work/if-q1.json")
if_n10=$(influx_count "$work/if-q10.json")
ts_pts1=$(jq '[.series[].points | length] | add' "$work/ts-q1.json")
if_pts1=$(influx_points "$work/if-q1.json")
ts_pts10=$(jq '[.series[].points | length] | add' "$work/ts-q10.json")
if_pts10=$(influx_points "$work/if-q10.json")
log "check: samples counted by the 1-tag query: tagstream $ts_n1, InfluxDB $if_n1 (expected $hist_points)"
log "check: samples counted by the 10-tag query: tagstream $ts_n10, InfluxDB $if_n10 (expected $hist_lines)"
if [[ $ts_n1 != "$hist_points" || $if_n1 != "$hist_points" || $ts_n10 != "$hist_lines" || $if_n10 != "$hist_lines" ]]; then
  echo "historian.sh: a server does not hold all the loaded data; see the counts above" >&2
  exit 1
fi

declare -A h_med h_p90 h_p99 h_bytes h_n
run_history() {  # KEY URL
  local f=$work/history-$1.txt
  log "history $1: $history_requests sequential requests (at most ${history_seconds} s)"
  "$bench" history --url "$2" --requests "$history_requests" --warmup 5 --seconds "$history_seconds" >"$f" ||
    { cat "$f" >&2; exit 1; }
  grep -E 'requests \(after' "$f" | sed 's/^/    /' >&2
  h_med[$1]=$(result "$f" median_ms); h_p90[$1]=$(result "$f" p90_ms)
  h_p99[$1]=$(result "$f" p99_ms); h_bytes[$1]=$(result "$f" bytes); h_n[$1]=$(result "$f" requests)
}
wait_idle "$ts_pid" tagstream
run_history ts1 "$ts_q1"
wait_idle "$if_pid" influxdb
run_history if1 "$if_q1"
wait_idle "$ts_pid" tagstream
run_history ts10 "$ts_q10"
wait_idle "$if_pid" influxdb
run_history if10 "$if_q10"

ts_disk=$(du -sh "$work/tagstream" | cut -f1)
if_disk=$(du -sh "$work/influxdb" | cut -f1)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------
# Report.
ts_rate_m=$(median "${ts_rate[@]}"); if_rate_m=$(median "${if_rate[@]}")
ts_p50_m=$(median "${ts_p50[@]}"); if_p50_m=$(median "${if_p50[@]}")
ts_p99_m=$(median "${ts_p99[@]}"); if_p99_m=$(median "${if_p99[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3g", a / b; else print "n/a" }'; }
# compare A B higher|lower: how tagstream (A) stands against InfluxDB (B), when
# a higher (samples/s) or a lower (latency) number is better.
compare() {
  awk -v a="$1" -v b="$2" -v better="$3" 'BEGIN {
    if (a <= 0 || b <= 0) { print "n/a"; exit }
    f = better == "higher" ? a / b : b / a
    if (f >= 1) printf "tagstream %.3g× faster", f; else printf "tagstream %.3g× slower", 1 / f }'
}
# verdict A OP B: "met" when A OP B holds (OP is >= or <), numerically.
verdict() {
  if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN { ok = op == ">=" ? a + 0 >= b + 0 : a + 0 < b + 0; exit !ok }'; then
    echo "met"
  else
    echo "**missed**"
  fi
}
ingest_ratio=$(ratio "$ts_rate_m" "$if_rate_m")
load_ratio=$(ratio "${load_rate[tagstream]}" "${load_rate[influxdb]}")
h1_ratio=$(ratio "${h_med[ts1]}" "${h_med[if1]}")
h10_ratio=$(ratio "${h_med[ts10]}" "${h_med[if10]}")
span_desc=$([[ $history_days == 365 ]] && echo "one year" || echo "$history_days days")

report=$(cat <<EOF
### Historian: tagstream vs InfluxDB $(echo "$influx_version" | sed 's/^InfluxDB v//; s/ .*//') ($(date -u +%Y-%m-%dT%H:%MZ)$( ((short)) && echo ', --short' || true))

| benchmark | tagstream | InfluxDB | tagstream / InfluxDB | goal | met? |
|---|---:|---:|---:|---|---|
| ingest, samples/s (median of $ingest_rounds × ${ingest_seconds} s; $connections conn × $lines_per_request lines, $ingest_tags tags) | $(fmt_int "$ts_rate_m") | $(fmt_int "$if_rate_m") | ${ingest_ratio}× ($(compare "$ts_rate_m" "$if_rate_m" higher)) | ≥ 2× InfluxDB | $(verdict "$ingest_ratio" ">=" 2) |
| ingest, request latency p50 / p99 (ms) | $ts_p50_m / $ts_p99_m | $if_p50_m / $if_p99_m | | | |
| load $span_desc × $hist_tags tags of minute data ($(fmt_int "$hist_lines") samples, precision=s): time (s) / samples/s | ${load_s[tagstream]} / $(fmt_int "${load_rate[tagstream]}") | ${load_s[influxdb]} / $(fmt_int "${load_rate[influxdb]}") | ${load_ratio}× ($(compare "${load_rate[tagstream]}" "${load_rate[influxdb]}" higher)) | | |
| history, 1 tag, $span_desc, maxPoints=1000: median (p90, p99) ms | ${h_med[ts1]} (${h_p90[ts1]}, ${h_p99[ts1]}) | ${h_med[if1]} (${h_p90[if1]}, ${h_p99[if1]}) | ${h1_ratio}× ($(compare "${h_med[ts1]}" "${h_med[if1]}" lower)) | < 20 ms | $(verdict "${h_med[ts1]}" "<" 20) |
| history, 10 tags, $span_desc, maxPoints=1000: median (p90, p99) ms | ${h_med[ts10]} (${h_p90[ts10]}, ${h_p99[ts10]}) | ${h_med[if10]} (${h_p90[if10]}, ${h_p99[if10]}) | ${h10_ratio}× ($(compare "${h_med[ts10]}" "${h_med[if10]}" lower)) | < 20 ms | $(verdict "${h_med[ts10]}" "<" 20) |
| history answer size, 1 tag / 10 tags (bytes) | ${h_bytes[ts1]} / ${h_bytes[ts10]} | ${h_bytes[if1]} / ${h_bytes[if10]} | | | |
| history points returned, 1 tag / 10 tags | $ts_pts1 / $ts_pts10 | $if_pts1 / $if_pts10 | | | |
| history requests measured (after 5 warm-up), 1 tag / 10 tags | ${h_n[ts1]} / ${h_n[ts10]} | ${h_n[if1]} / ${h_n[if10]} | | | |
| disk used at the end (data, WAL, index) | $ts_disk | $if_disk | | | |

Ingest rounds (samples/s): tagstream ${ts_rate[*]}; InfluxDB ${if_rate[*]}.
The ratio column is tagstream's number divided by InfluxDB's (above 1: more samples/s, or a slower query).
Each history run stops after ${history_seconds} s, so a slow server is measured over fewer requests.

- Durability: tagstream \`--sync $tagstream_sync\` ($( [[ $tagstream_sync == full ]] && echo 'SQLite WAL, synchronous=FULL: fsync before a write is answered' || echo 'SQLite WAL, synchronous=NORMAL: no fsync per commit')); InfluxDB \`wal-fsync-delay = "0s"\` (its default: WAL fsync before a write is answered). Both keep every sample (tagstream \`--retention-raw forever --retention-second forever\`; InfluxDB's autogen policy is infinite).
- Ingest lines: \`$ingest_first_line\` (tagstream tag \`plant.d000.v\`), one timestamp per tag per second, never repeated; history lines: \`$hist_first_line\`.
- History queries: tagstream \`/api/data/history?tags[]=hist.d0.v&from=$hist_from&to=$hist_to&maxPoints=1000\` (tier \`$ts_tier\`, groups of ${bucket_s} s) and the same with 10 \`tags[]\`; InfluxDB \`$if_sql1\` and \`$if_sql10\` (same groups), \`epoch=ms\`, JSON.
- Machine: $(nproc) cores ($cpu_model), $mem RAM, $os, kernel $kernel, $fs; load average $load_start at the start, $load_end at the end (the machine is shared).
- Versions: tagstream $rev$dirty ($build_type, $gxx_version), SQLite $sqlite_version, $influx_version (Debian package).
EOF
)
printf '\n%s\n' "$report"
if [[ -n $out_file ]]; then printf '%s\n' "$report" >"$out_file"; log "report written to $out_file"; fi
