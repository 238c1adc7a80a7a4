#!/usr/bin/env bash
# The PostgreSQL store against the SQLite store: two tagstream servers from the
# same build, one with --data-dir (SQLite, the default) and one with
# --store postgres://... (PostgreSQL 15 from Debian's `postgresql` package,
# initdb'd into a temporary directory), the same data, the same client.
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
# Durability is alike on both sides: tagstream --sync full (SQLite fsyncs
# before a write is answered) and PostgreSQL's defaults (fsync=on,
# synchronous_commit=on: the commit's WAL is flushed before it returns).
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
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
# Helpers.

# cpu_ticks PID: user+system clock ticks used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wait_idle PID NAME: waits (at most 180 s) until the process uses under 5% of
# a core over 2 s, so background work (compactions, checkpoints) of one load
# does not leak into the next measurement.
wait_idle() {
  local pid=$1 name=$2 a b hz
  hz=$(getconf CLK_TCK)
  for _ in $(seq 1 90); do
    a=$(cpu_ticks "$pid"); sleep 2; b=$(cpu_ticks "$pid")
    if (((b - a) * 100 < hz * 2 * 5)); then return 0; fi
  done
  log "warning: $name still busy after 180 s"
}

# result FILE KEY: a value from the tool's "RESULT" line.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

urlencode() { jq -rn --arg v "$1" '$v|@uri'; }

fmt_int() { printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

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
declare -a ts_rate if_rate ts_p50 if_p50 ts_p99 if_p99  # ts_: SQLite, if_: PostgreSQL
for ((r = 0; r < ingest_rounds; r++)); do
  start=$(((now - 86400 - (ingest_rounds - r) * span) * 1000000000))
  for who in sqlite postgres; do
    if [[ $who == sqlite ]]; then url="$sq_url/write"; pid=$pid_sqlite; else url="$pg_url/write"; pid=$pid_postgres; fi
    wait_idle "$pid" "$who"
    log "ingest round $((r + 1))/$ingest_rounds: $who, ${ingest_seconds} s, $connections connections x $lines_per_request lines, $ingest_tags tags"
    f=$work/ingest-$who-$r.txt
    "$bench" ingest --url "$url" --connections "$connections" --lines-per-request "$lines_per_request" \
      --tags "$ingest_tags" --seconds "$ingest_seconds" --precision ns --start "$start" >"$f" ||
      { cat "$f" >&2; exit 1; }
    grep -E '^(samples/s|elapsed)' "$f" | sed 's/^/    /' >&2
    if [[ $who == sqlite ]]; then
      ts_rate+=("$(result "$f" samples_per_s)"); ts_p50+=("$(result "$f" p50_ms)"); ts_p99+=("$(result "$f" p99_ms)")
    else
      if_rate+=("$(result "$f" samples_per_s)"); if_p50+=("$(result "$f" p50_ms)"); if_p99+=("$(result "$f" p99_ms)")
    fi
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
for who in sqlite postgres; do
  if [[ $who == sqlite ]]; then url="$sq_url/write"; pid=$pid_sqlite; else url="$pg_url/write"; pid=$pid_postgres; fi
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
hist_first_line=$(sed -n 's/^first line: //p' "$work/load-sqlite.txt")

# Let both settle (SQLite checkpoints, PostgreSQL autovacuums) before reading.
log "waiting for both servers to go idle"
sleep 5
wait_idle "$pid_sqlite" sqlite
wait_idle "$pid_postgres" postgres

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
log "check: samples counted by the 1-tag query: SQLite $ts_n1, PostgreSQL $if_n1 (expected $hist_points)"
log "check: samples counted by the 10-tag query: SQLite $ts_n10, PostgreSQL $if_n10 (expected $hist_lines)"
if [[ $ts_n1 != "$hist_points" || $if_n1 != "$hist_points" || $ts_n10 != "$hist_lines" || $if_n10 != "$hist_lines" ]]; then
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
wait_idle "$pid_sqlite" sqlite
run_history ts10 "$sq_url$q10"
wait_idle "$pid_postgres" postgres
run_history if10 "$pg_url$q10"

ts_disk=$(du -sh "$work/sqlite" | cut -f1)
if_disk=$(du -sh "$work/pg/data" | cut -f1)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------
# Report.
ts_rate_m=$(median "${ts_rate[@]}"); if_rate_m=$(median "${if_rate[@]}")
ts_p50_m=$(median "${ts_p50[@]}"); if_p50_m=$(median "${if_p50[@]}")
ts_p99_m=$(median "${ts_p99[@]}"); if_p99_m=$(median "${if_p99[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3g", a / b; else print "n/a" }'; }
# compare A B higher|lower: how PostgreSQL (B) stands against SQLite (A), when
# a higher (samples/s) or a lower (latency) number is better.
compare() {
  awk -v a="$1" -v b="$2" -v better="$3" 'BEGIN {
    if (a <= 0 || b <= 0) { print "n/a"; exit }
    f = better == "higher" ? b / a : a / b
    if (f >= 1) printf "PostgreSQL %.3g× faster", f; else printf "PostgreSQL %.3g× slower", 1 / f }'
}
# verdict A OP B: "met" when A OP B holds (OP is >= or <), numerically.
verdict() {
  if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN { ok = op == ">=" ? a + 0 >= b + 0 : a + 0 < b + 0; exit !ok }'; then
    echo "met"
  else
    echo "**missed**"
  fi
}
ingest_ratio=$(ratio "$if_rate_m" "$ts_rate_m")
load_ratio=$(ratio "${load_rate[postgres]}" "${load_rate[sqlite]}")
h1_ratio=$(ratio "${h_med[if1]}" "${h_med[ts1]}")
h10_ratio=$(ratio "${h_med[if10]}" "${h_med[ts10]}")
span_desc=$([[ $history_days == 365 ]] && echo "one year" || echo "$history_days days")

report=$(cat <<EOF
### PostgreSQL store vs SQLite store ($(date -u +%Y-%m-%dT%H:%MZ)$( ((short)) && echo ', --short' || true))

| benchmark | SQLite | PostgreSQL | PostgreSQL / SQLite | goal (PostgreSQL) | met? |
|---|---:|---:|---:|---|---|
| ingest, samples/s (median of $ingest_rounds × ${ingest_seconds} s; $connections conn × $lines_per_request lines, $ingest_tags tags) | $(fmt_int "$ts_rate_m") | $(fmt_int "$if_rate_m") | ${ingest_ratio}× ($(compare "$ts_rate_m" "$if_rate_m" higher)) | | |
| ingest, request latency p50 / p99 (ms) | $ts_p50_m / $ts_p99_m | $if_p50_m / $if_p99_m | | | |
| load $span_desc × $hist_tags tags of minute data ($(fmt_int "$hist_lines") samples, precision=s): time (s) / samples/s | ${load_s[sqlite]} / $(fmt_int "${load_rate[sqlite]}") | ${load_s[postgres]} / $(fmt_int "${load_rate[postgres]}") | ${load_ratio}× ($(compare "${load_rate[sqlite]}" "${load_rate[postgres]}" higher)) | | |
| history, 1 tag, $span_desc, maxPoints=1000: median (p90, p99) ms | ${h_med[ts1]} (${h_p90[ts1]}, ${h_p99[ts1]}) | ${h_med[if1]} (${h_p90[if1]}, ${h_p99[if1]}) | ${h1_ratio}× ($(compare "${h_med[ts1]}" "${h_med[if1]}" lower)) | < 20 ms | $(verdict "${h_med[if1]}" "<" 20) |
| history, 10 tags, $span_desc, maxPoints=1000: median (p90, p99) ms | ${h_med[ts10]} (${h_p90[ts10]}, ${h_p99[ts10]}) | ${h_med[if10]} (${h_p90[if10]}, ${h_p99[if10]}) | ${h10_ratio}× ($(compare "${h_med[ts10]}" "${h_med[if10]}" lower)) | < 20 ms | $(verdict "${h_med[if10]}" "<" 20) |
| history answer size, 1 tag / 10 tags (bytes) | ${h_bytes[ts1]} / ${h_bytes[ts10]} | ${h_bytes[if1]} / ${h_bytes[if10]} | | | |
| history points returned, 1 tag / 10 tags | $ts_pts1 / $ts_pts10 | $if_pts1 / $if_pts10 | | | |
| history requests measured (after 5 warm-up), 1 tag / 10 tags | ${h_n[ts1]} / ${h_n[ts10]} | ${h_n[if1]} / ${h_n[if10]} | | | |
| disk used at the end | $ts_disk | $if_disk | | | |

Ingest rounds (samples/s): SQLite ${ts_rate[*]}; PostgreSQL ${if_rate[*]}.
The ratio column is PostgreSQL's number divided by SQLite's (above 1: more samples/s, or a slower query).

- Durability: both answer a write once it is durable: tagstream \`--sync full\` on SQLite (WAL fsync before the answer), PostgreSQL with its defaults (fsync=on, synchronous_commit=on). Both keep every sample (\`--retention-raw forever --retention-second forever\`).
- Ingest lines: \`$ingest_first_line\` (tag \`plant.d000.v\`), one timestamp per tag per second, never repeated; history lines: \`$hist_first_line\`.
- History query: \`$q1\` (tier \`$ts_tier\`, groups of ${bucket_s} s) and the same with 10 \`tags[]\`.
- Machine: $(nproc) cores ($cpu_model), $mem RAM, $os, kernel $kernel, $fs; load average $load_start at the start, $load_end at the end (the machine is shared; PostgreSQL, the tagstream in front of it and the load generator share its cores).
- Versions: tagstream $rev$dirty ($build_type, $gxx_version), SQLite $sqlite_version, $pg_version (Debian package).
EOF
)
printf '\n%s\n' "$report"
if [[ -n $out_file ]]; then printf '%s\n' "$report" >"$out_file"; log "report written to $out_file"; fi
