#!/usr/bin/env bash
# The PostgreSQL store against the SQLite store and InfluxDB: two tagstream
# servers from the same build, one with --data-dir (SQLite, the default) and
# one with --store postgres://... (PostgreSQL 15 from Debian's `postgresql`
# package, initdb'd into a temporary directory), and InfluxDB 1.6 (Debian's
# `influxdb`, started as bench/historian.sh does), the same data, the same
# client, in one run.
#
#   bench/pg.sh            full run: 3 rounds of 20 s ingest, one year of
#                          minute data for 10 tags, 200 history requests
#   bench/pg.sh --short    quick run: 1 round of 5 s, one month, 50 requests
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
#   --history-seconds N    time cap per history query (120, --short 60)
#   --out FILE             also write the report (Markdown) to FILE
#
# Durability is alike on all three: tagstream --sync full (SQLite fsyncs
# before a write is answered), PostgreSQL's defaults (fsync=on,
# synchronous_commit=on: the commit's WAL is flushed before it returns) and
# InfluxDB's (wal-fsync-delay 0: the WAL is fsynced before it answers).
# PostgreSQL refuses to run as root: run as root, its server runs as `nobody`
# (setpriv). Everything listens on 127.0.0.1 only; on exit the servers are
# stopped and the temporary directory removed.
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
    --out) out_file=$2; shift ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pg.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if ((short)); then
  : "${ingest_seconds:=5}" "${ingest_rounds:=1}" "${history_days:=30}" "${history_requests:=50}" "${history_seconds:=60}"
else
  : "${ingest_seconds:=20}" "${ingest_rounds:=3}" "${history_days:=365}" "${history_requests:=200}" "${history_seconds:=120}"
fi

source "$ROOT/bench/common.sh"

# ---------------------------------------------------------------------------
# Install what is missing.
./scripts/install-deps.sh
need=()
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
command -v influxd >/dev/null || need+=(influxdb)
install_without_services "${need[@]}"

# ---------------------------------------------------------------------------
# Build.
jobs=${JOBS:-2}
log "building Release tagstream and tagstream-bench in $build_dir (-j$jobs)"
build_log=$(mktemp /tmp/pg-bench-build.XXXXXX)
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

work=$(mktemp -d "${TMPDIR:-/tmp}/pg-bench.XXXXXX")

# ---------------------------------------------------------------------------
# Start PostgreSQL (start_postgres in common.sh): initdb into the temporary
# directory, trust authentication for the one local user, default durability
# settings.
pg_bin=/usr/lib/postgresql/15/bin
log "initdb in $work/pg/data"
start_postgres "$work"
store_url=$pg_url

# start_tagstream NAME ARGS...: a server on a free loopback port; sets
# port_NAME and pid_NAME. It goes first in pids, so on exit it stops before
# PostgreSQL. Retention keeps every sample of the test (the defaults would
# delete raw samples older than 30 days in the background, during the
# history runs); no per-client rate limits: one load generator measures the
# engine, not the limiter.
start_tagstream() {
  local name=$1 pid port
  shift
  : >"$work/$name.log"
  "$tagstream" serve --no-simulator --listen 127.0.0.1:0 --sync full \
    --retention-raw forever --retention-second forever \
    --max-tags 2000000 --max-new-tags-per-request 1000000 --max-new-tags-per-minute 10000000 \
    --write-rate-limit 0 --history-rate-limit 0 "$@" >>"$work/$name.log" 2>&1 &
  pid=$!
  pids=("$pid" "${pids[@]}")
  port=
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/$name.log" | head -1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n $port ]] || { echo "tagstream ($name) did not start" >&2; cat "$work/$name.log" >&2; exit 1; }
  printf -v "port_$name" '%s' "$port"
  printf -v "pid_$name" '%s' "$pid"
}
mkdir -p "$work/sqlite"
log "starting tagstream on SQLite and tagstream on PostgreSQL (127.0.0.1:$pg_port)"
start_tagstream sqlite --data-dir "$work/sqlite"
start_tagstream postgres --data-dir "$work/unused" --store "$store_url"
sq_url=http://127.0.0.1:$port_sqlite
pg_url=http://127.0.0.1:$port_postgres
start_influxdb "$work/influxdb"
declare -A write_url=([sqlite]="$sq_url/write" [postgres]="$pg_url/write" [influxdb]="$if_url/write?db=bench")
declare -A pid_of=([sqlite]="$pid_sqlite" [postgres]="$pid_postgres" [influxdb]="$if_pid")
whos=(sqlite postgres influxdb)

# ---------------------------------------------------------------------------
# Machine and versions.
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
kernel=$(uname -r)
os=$(. /etc/os-release && echo "$PRETTY_NAME")
fs=$(df -T "$work" | awk 'NR==2 {print $2 " on " $1}')
pg_version=$("$pg_bin/postgres" --version)
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
declare -A rates p50s p99s  # per server: the rounds' values, space-separated
for ((r = 0; r < ingest_rounds; r++)); do
  start=$(((now - 86400 - (ingest_rounds - r) * span) * 1000000000))
  for who in "${whos[@]}"; do
    wait_idle "${pid_of[$who]}" "$who"
    log "ingest round $((r + 1))/$ingest_rounds: $who, ${ingest_seconds} s, $connections connections x $lines_per_request lines, $ingest_tags tags"
    f=$work/ingest-$who-$r.txt
    "$bench" ingest --url "${write_url[$who]}" --connections "$connections" --lines-per-request "$lines_per_request" \
      --tags "$ingest_tags" --seconds "$ingest_seconds" --precision ns --start "$start" >"$f" ||
      { cat "$f" >&2; exit 1; }
    grep -E '^(samples/s|elapsed)' "$f" | sed 's/^/    /' >&2
    rates[$who]+="$(result "$f" samples_per_s) "; p50s[$who]+="$(result "$f" p50_ms) "; p99s[$who]+="$(result "$f" p99_ms) "
  done
done
ingest_first_line=$(sed -n 's/^first line: //p' "$work/ingest-sqlite-0.txt")

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
for who in "${whos[@]}"; do
  wait_idle "${pid_of[$who]}" "$who"
  log "loading $history_days days of minute data for $hist_tags tags ($(fmt_int "$hist_lines") lines) into $who"
  f=$work/load-$who.txt
  "$bench" ingest --url "${write_url[$who]}" --connections "$connections" --lines-per-request "$lines_per_request" \
    --tags "$hist_tags" --seconds 0 --lines "$hist_lines" --precision s --start "$hist_from" --step 60 \
    --measurement hist --signal wave --retry-busy true >"$f" || { cat "$f" >&2; exit 1; }
  grep -E '^(samples/s|elapsed)' "$f" | sed 's/^/    /' >&2
  load_s[$who]=$(result "$f" elapsed_s)
  load_rate[$who]=$(result "$f" samples_per_s)
done
hist_first_line=$(sed -n 's/^first line: //p' "$work/load-sqlite.txt")

# Let all settle (SQLite checkpoints, PostgreSQL autovacuums, InfluxDB
# compacts) before reading.
log "waiting for the servers to go idle"
sleep 5
for who in "${whos[@]}"; do wait_idle "${pid_of[$who]}" "$who"; done

# ---------------------------------------------------------------------------
# 3. History: maxPoints=1000 over the whole span, one tag and all 10, the
#    same requests to both.
one_tag="tags[]=hist.d0.v"
all_tags=$(for i in $(seq 0 $((hist_tags - 1))); do printf 'tags[]=hist.d%d.v&' "$i"; done)
all_tags=${all_tags%&}
q1="/api/data/history?$one_tag&from=$hist_from&to=$hist_to&maxPoints=1000"
q10="/api/data/history?$all_tags&from=$hist_from&to=$hist_to&maxPoints=1000"

# Both must hold all the data.
for who in sqlite postgres; do
  base=$sq_url; [[ $who == postgres ]] && base=$pg_url
  curl -sf "$base$q1" >"$work/$who-q1.json"
  curl -sf "$base$q10" >"$work/$who-q10.json"
done
ts_n1=$(jq '[.series[].points[].count] | add' "$work/sqlite-q1.json")
ts_n10=$(jq '[.series[].points[].count] | add' "$work/sqlite-q10.json")
if_n1=$(jq '[.series[].points[].count] | add' "$work/postgres-q1.json")
if_n10=$(jq '[.series[].points[].count] | add' "$work/postgres-q10.json")
ts_pts1=$(jq '[.series[].points | length] | add' "$work/sqlite-q1.json")
if_pts1=$(jq '[.series[].points | length] | add' "$work/postgres-q1.json")
ts_pts10=$(jq '[.series[].points | length] | add' "$work/sqlite-q10.json")
if_pts10=$(jq '[.series[].points | length] | add' "$work/postgres-q10.json")
ts_tier=$(jq -r '.tier' "$work/sqlite-q1.json")
bucket_s=$(( $(jq -r '.bucketMs' "$work/sqlite-q1.json") / 1000 ))
# InfluxDB groups by the width tagstream chose, aligned on `from`: the same groups.
influx_history_urls "$hist_from" "$hist_to" "$bucket_s"
curl -sf "$if_q1" >"$work/influxdb-q1.json"
curl -sf "$if_q10" >"$work/influxdb-q10.json"
ix_n1=$(influx_count "$work/influxdb-q1.json"); ix_n10=$(influx_count "$work/influxdb-q10.json")
ix_pts1=$(influx_points "$work/influxdb-q1.json"); ix_pts10=$(influx_points "$work/influxdb-q10.json")
# The same groups, point for point: PostgreSQL's and SQLite's answers are equal.
for q in q1 q10; do
  # (avg aside: sums added in another order may differ in the last bits)
  cmp -s <(jq -S '.series[].points[] |= del(.avg)' "$work/sqlite-$q.json") \
    <(jq -S '.series[].points[] |= del(.avg)' "$work/postgres-$q.json") ||
    { echo "pg.sh: SQLite and PostgreSQL answer $q differently" >&2; exit 1; }
done
log "check: samples counted by the 1-tag query: SQLite $ts_n1, PostgreSQL $if_n1, InfluxDB $ix_n1 (expected $hist_points)"
log "check: samples counted by the 10-tag query: SQLite $ts_n10, PostgreSQL $if_n10, InfluxDB $ix_n10 (expected $hist_lines)"
if [[ $ts_n1 != "$hist_points" || $if_n1 != "$hist_points" || $ts_n10 != "$hist_lines" || $if_n10 != "$hist_lines" ||
      $ix_n1 != "$hist_points" || $ix_n10 != "$hist_lines" ]]; then
  echo "pg.sh: a server does not hold all the loaded data; see the counts above" >&2
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
wait_idle "$pid_sqlite" sqlite
run_history ts1 "$sq_url$q1"
wait_idle "$pid_postgres" postgres
run_history if1 "$pg_url$q1"
wait_idle "$if_pid" influxdb
run_history ix1 "$if_q1"
wait_idle "$pid_sqlite" sqlite
run_history ts10 "$sq_url$q10"
wait_idle "$pid_postgres" postgres
run_history if10 "$pg_url$q10"
wait_idle "$if_pid" influxdb
run_history ix10 "$if_q10"

ts_disk=$(du -sh "$work/sqlite" | cut -f1)
if_disk=$(du -sh "$work/pg/data" | cut -f1)
ix_disk=$(du -sh "$work/influxdb" | cut -f1)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------
# Report.
# shellcheck disable=SC2086  # the rounds' values, split on purpose
ts_rate_m=$(median ${rates[sqlite]}); if_rate_m=$(median ${rates[postgres]}); ix_rate_m=$(median ${rates[influxdb]})
ts_p50_m=$(median ${p50s[sqlite]}); if_p50_m=$(median ${p50s[postgres]}); ix_p50_m=$(median ${p50s[influxdb]})
ts_p99_m=$(median ${p99s[sqlite]}); if_p99_m=$(median ${p99s[postgres]}); ix_p99_m=$(median ${p99s[influxdb]})
# compare A B higher|lower: how B (PostgreSQL) stands against A, when a
# higher (samples/s) or a lower (latency) number is better.
compare() {
  awk -v a="$1" -v b="$2" -v better="$3" 'BEGIN {
    if (a <= 0 || b <= 0) { print "n/a"; exit }
    f = better == "higher" ? b / a : a / b
    if (f >= 1) printf "%.3g× faster", f; else printf "%.3g× slower", 1 / f }'
}
# verdict A OP B: "met" when A OP B holds (OP is >= or <), numerically.
verdict() {
  if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN { ok = op == ">=" ? a + 0 >= b + 0 : a + 0 < b + 0; exit !ok }'; then
    echo "met"
  else
    echo "**missed**"
  fi
}
# row NAME SQLITE_CELL PG_CELL INFLUX_CELL higher|lower GOAL VERDICT SQLITE PG INFLUX:
# a table row with PostgreSQL's standing against each of the other two.
row() {
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" \
    "$(compare "$8" "$9" "$5")" "$(compare "${10}" "$9" "$5")" "$6" "$7"
}
span_desc=$([[ $history_days == 365 ]] && echo "one year" || echo "$history_days days")
hist_cell() { echo "${h_med[$1]} (${h_p90[$1]}, ${h_p99[$1]})"; }

report=$(cat <<EOF
### PostgreSQL store vs SQLite store vs InfluxDB ($(date -u +%Y-%m-%dT%H:%MZ)$( ((short)) && echo ', --short' || true))

| benchmark | SQLite | PostgreSQL | InfluxDB | PostgreSQL vs SQLite | PostgreSQL vs InfluxDB | goal (PostgreSQL) | met? |
|---|---:|---:|---:|---|---|---|---|
$(row "ingest, samples/s (median of $ingest_rounds × ${ingest_seconds} s; $connections conn × $lines_per_request lines, $ingest_tags tags)" "$(fmt_int "$ts_rate_m")" "$(fmt_int "$if_rate_m")" "$(fmt_int "$ix_rate_m")" higher "≥ 1× InfluxDB" "$(verdict "$if_rate_m" ">=" "$ix_rate_m")" "$ts_rate_m" "$if_rate_m" "$ix_rate_m")
| ingest, request latency p50 / p99 (ms) | $ts_p50_m / $ts_p99_m | $if_p50_m / $if_p99_m | $ix_p50_m / $ix_p99_m | | | | |
$(row "load $span_desc × $hist_tags tags of minute data ($(fmt_int "$hist_lines") samples, precision=s): samples/s (time, s)" "$(fmt_int "${load_rate[sqlite]}") (${load_s[sqlite]})" "$(fmt_int "${load_rate[postgres]}") (${load_s[postgres]})" "$(fmt_int "${load_rate[influxdb]}") (${load_s[influxdb]})" higher "" "" "${load_rate[sqlite]}" "${load_rate[postgres]}" "${load_rate[influxdb]}")
$(row "history, 1 tag, $span_desc, maxPoints=1000: median (p90, p99) ms" "$(hist_cell ts1)" "$(hist_cell if1)" "$(hist_cell ix1)" lower "< 20 ms" "$(verdict "${h_med[if1]}" "<" 20)" "${h_med[ts1]}" "${h_med[if1]}" "${h_med[ix1]}")
$(row "history, 10 tags, $span_desc, maxPoints=1000: median (p90, p99) ms" "$(hist_cell ts10)" "$(hist_cell if10)" "$(hist_cell ix10)" lower "< 20 ms" "$(verdict "${h_med[if10]}" "<" 20)" "${h_med[ts10]}" "${h_med[if10]}" "${h_med[ix10]}")
| history answer size, 1 tag / 10 tags (bytes) | ${h_bytes[ts1]} / ${h_bytes[ts10]} | ${h_bytes[if1]} / ${h_bytes[if10]} | ${h_bytes[ix1]} / ${h_bytes[ix10]} | | | | |
| history points returned, 1 tag / 10 tags | $ts_pts1 / $ts_pts10 | $if_pts1 / $if_pts10 | $ix_pts1 / $ix_pts10 | | | | |
| history requests measured (after 5 warm-up), 1 tag / 10 tags | ${h_n[ts1]} / ${h_n[ts10]} | ${h_n[if1]} / ${h_n[if10]} | ${h_n[ix1]} / ${h_n[ix10]} | | | | |
| disk used at the end | $ts_disk | $if_disk | $ix_disk | | | | |

Ingest rounds (samples/s): SQLite ${rates[sqlite]% }; PostgreSQL ${rates[postgres]% }; InfluxDB ${rates[influxdb]% }.
"PostgreSQL vs X": how many times faster or slower PostgreSQL is than X on that row's measure.

- Durability: all three answer a write once it is durable: tagstream \`--sync full\` on SQLite (WAL fsync before the answer), PostgreSQL with its defaults (fsync=on, synchronous_commit=on), InfluxDB with \`wal-fsync-delay = 0s\`. All keep every sample (\`--retention-raw forever --retention-second forever\`; InfluxDB's default policy is infinite).
- Ingest lines: \`$ingest_first_line\` (tag \`plant.d000.v\`), one timestamp per tag per second, never repeated; history lines: \`$hist_first_line\`.
- History query: \`$q1\` (tier \`$ts_tier\`, groups of ${bucket_s} s) and the same with 10 \`tags[]\`; InfluxDB \`$if_sql1\` and \`$if_sql10\` (the same groups). SQLite's and PostgreSQL's answers were checked equal (every field but avg, whose sums may differ in the last bits).
- Machine: $(nproc) cores ($cpu_model), $mem RAM, $os, kernel $kernel, $fs; load average $load_start at the start, $load_end at the end (the machine is shared; the servers, PostgreSQL and the load generator share its cores).
- Versions: tagstream $rev$dirty ($build_type, $gxx_version), SQLite $sqlite_version, $pg_version, $influx_version (Debian packages).
EOF
)
printf '\n%s\n' "$report"
if [[ -n $out_file ]]; then printf '%s\n' "$report" >"$out_file"; log "report written to $out_file"; fi
