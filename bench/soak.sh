#!/usr/bin/env bash
# Soak (issue 15): one tagstream server (simulator on, authentication on with
# an API-key file and an HS256 secret) under mixed load for --minutes, while
# its resident memory, open files, threads and open streams are sampled
# every 10 s. After the warm-up (the first 2 minutes, or the first quarter of
# a shorter run) RSS and open files should stay flat.
#
#   bench/soak.sh             10 minutes
#   bench/soak.sh --short     2 minutes
#   bench/soak.sh --minutes N
#
# The load, all at once, for the whole run (every request with the API key
# unless it says otherwise):
#   stream churn     tagstream-bench opens: 2 clients open /api/sse/stream on
#                    boiler1.*, read to the `connected` event, close, again
#   held streams     tagstream-bench sse: 200 streams of one tag each, their
#                    tags written at 1 Hz through /write (200 updates/s)
#   ingest           tagstream-bench ingest: 20 requests/s of 1,000 lines
#                    (20,000 samples/s) to /write
#   history          tagstream-bench history in a loop: 20 queries every
#                    second or so, alternating the simulator's last 15 minutes
#                    per second and the ingested data per minute
#   abusive client   a shell loop, about once a second: bodies over
#                    --max-body-bytes (413, every 10th round), garbage line
#                    protocol (400), far-future timestamps (400), no token and
#                    a bad token (401), a 64 KiB URL and a 64 KiB header
#                    (431/414/400), half-sent headers held open (slowloris,
#                    20 at a time; the server's --header-timeout ends them),
#                    streams of every tag read at 1 byte/s (curl --limit-rate
#                    1, 4 at a time, each held 90 s), and 50 idle connections
#                    that never send a byte, replaced every 20 s
# It prints a table of the samples as they come, then the RSS and open-file
# growth from the end of the warm-up to the end, the requests and answers per
# kind of load, and whether /healthz still answers. The raw samples go to
# bench/results/soak-DATE.tsv (a run under 10 minutes' to bench/results/raw/,
# which git ignores).
#
# Options:
#   --minutes N         length of the run (default 10)
#   --short             2 minutes
#   --build-dir DIR     build (or reuse) tagstream and tagstream-bench in DIR (default build)
#   --out FILE          also write the report (Markdown) to FILE
#
# Everything talks to 127.0.0.1 only; every load stops by itself at the end
# of the run, and on exit the script stops what it started and removes its
# temporary directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

minutes=10
build_dir=build
out_file=
short=0
while (($#)); do
  case $1 in
    --short) short=1; minutes=2 ;;
    --minutes) minutes=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --out) out_file=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $minutes =~ ^[1-9][0-9]?$ ]] || { echo "soak.sh: --minutes must be 1..99" >&2; exit 2; }
duration=$((minutes * 60))
if ((minutes >= 8)); then warmup=120; else warmup=$((duration / 4)); fi
sample_every=10

source "$ROOT/bench/common.sh"

need=()
command -v curl >/dev/null || need+=(curl)
install_without_services "${need[@]}"

build_bench_binaries soak

stamp=$(date -u +%Y%m%d-%H%M)
# Runs shorter than the full 10 minutes keep their samples out of git.
if ((short || minutes < 10)); then tsv_dir=$ROOT/bench/results/raw; else tsv_dir=$ROOT/bench/results; fi
mkdir -p "$tsv_dir"
tsv=$tsv_dir/soak-$stamp.tsv

work=$(mktemp -d /tmp/tagstream-soak.XXXXXX)
logs=$work/logs
mkdir -p "$logs"

# ---------------------------------------------------------------------------
# The server: simulator on, authentication on.
head -c 48 /dev/urandom | base64 -w0 >"$work/secret"
api_key=$("$tagstream" token new --id soak --read '*' --write '*' --file "$work/tokens.toml" 2>/dev/null)
auth="Authorization: Bearer $api_key"
port=$(free_port)
url=http://127.0.0.1:$port
"$tagstream" serve --data-dir "$work/data" --listen "127.0.0.1:$port" --log-level warn \
  --token-file "$work/tokens.toml" --jwt-secret-file "$work/secret" >"$logs/server.log" 2>&1 &
srv_pid=$!
pids+=("$srv_pid")
wait_until_up tagstream "$url/healthz" "$srv_pid" "$logs/server.log"
log "server pid $srv_pid on $url; soak of $minutes min (warm-up ${warmup} s)"

end_at=$((SECONDS + duration))
left() { echo $((end_at - SECONDS)); }

# ---------------------------------------------------------------------------
# The loads. Each stops by itself at end_at.
"$bench" opens --url "$url/api/sse/stream?tags[]=boiler1.*" --clients 2 --seconds "$duration" \
  --header "$auth" --label churn >"$logs/opens.txt" 2>&1 &
pids+=("$!")
"$bench" sse --url "$url" --streams 200 --rate 1 --seconds "$((duration - 10))" --settle 1 --drain 1 \
  --prefix soak --publish-connections 4 --header "$auth" --label held >"$logs/sse.txt" 2>&1 &
pids+=("$!")
"$bench" ingest --url "$url/write" --connections 2 --lines-per-request 1000 --tags 1000 \
  --requests-per-second 20 --seconds "$duration" --header "$auth" >"$logs/ingest.txt" 2>&1 &
pids+=("$!")

history_loop() {
  local i=0 q
  while (($(left) > 2)); do
    if ((i % 2)); then
      q="tags[]=boiler1.*&from=now-15m&interval=second"
    else
      q="tags[]=plant.d*.v&from=now-25h&to=now-20h&interval=minute&maxPoints=300"
    fi
    "$bench" history --url "$url/api/data/history?$q" --requests 20 --warmup 0 --seconds 10 \
      --header "$auth" >"$logs/history-last.txt" 2>&1 || true
    if grep -q '^RESULT ' "$logs/history-last.txt"; then
      echo "ok $(result "$logs/history-last.txt" requests)" >>"$logs/history.counts"
    fi
    if grep -q '^error:' "$logs/history-last.txt"; then
      grep '^error:' "$logs/history-last.txt" | head -1 >>"$logs/history.errors"
    fi
    i=$((i + 1))
    sleep 1
  done
}
history_loop &
pids+=("$!")

# The abusive client. Every answer is logged as "KIND STATUS" (000: no answer).
big_body=$work/big-body
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$big_body"
long=$(head -c 65536 /dev/zero | tr '\0' 'a')
abuse_loop() {
  local i=0 code far slow=() idle=() fd s
  local -A slow_started=()
  trap 'for s in "${!slow_started[@]}"; do kill "$s" 2>/dev/null; done; exit 0' TERM
  call() {  # KIND curl-args...: logs the status
    local kind=$1
    shift
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@" 2>/dev/null) || true
    echo "$kind ${code:-000}" >>"$logs/abuse.counts"
  }
  while (($(left) > 5)); do
    if ((i % 10 == 0)); then
      call oversized_body -H "$auth" -H 'Content-Type: text/plain' --data-binary "@$big_body" "$url/write"
    fi
    call garbage_lines -H "$auth" --data-binary $'this is not line protocol\n,,,=== 1 2 3\n\x01\x02' "$url/write"
    far=$(( ($(date +%s) + 86400 * 365 * 50) * 1000000000 ))
    call future_timestamp -H "$auth" --data-binary "soak,dev=future v=1 $far" "$url/write"
    call no_token "$url/api/tags"
    call bad_token -H 'Authorization: Bearer tsk_not_a_real_key_at_all_0000000000000000' "$url/api/tags"
    call bad_jwt -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.AAAA' \
      "$url/api/sse/stream?tags[]=boiler1.temperature"
    call huge_url -H "$auth" "$url/api/data/latest?tags[]=$long"
    call huge_header -H "$auth" -H "X-Junk: $long" "$url/api/tags"
    # Slowloris: half a header block, held (20 at a time, the oldest replaced).
    if exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
      printf 'GET /api/tags HTTP/1.1\r\nHost: x\r\nX-Slow: ' >&"$fd" 2>/dev/null || true
      slow+=("$fd")
      echo "slowloris opened" >>"$logs/abuse.counts"
    fi
    while ((${#slow[@]} > 20)); do fd=${slow[0]}; exec {fd}>&-; slow=("${slow[@]:1}"); done
    # Idle connections: 50, replaced every 20 rounds.
    if ((i % 20 == 0)); then
      for fd in "${idle[@]}"; do exec {fd}>&-; done
      idle=()
      for _ in $(seq 1 50); do
        if exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null; then idle+=("$fd"); fi
      done
      echo "idle_connections opened ${#idle[@]}" >>"$logs/abuse.counts"
    fi
    # Streams of every tag that read 1 byte/s: 4 at a time, 90 s each.
    local running=0
    for s in "${!slow_started[@]}"; do
      if kill -0 "$s" 2>/dev/null; then running=$((running + 1)); else unset "slow_started[$s]"; fi
    done
    if ((running < 4 && $(left) > 95)); then
      curl -s -N --limit-rate 1 --max-time 90 -H "$auth" -o /dev/null \
        "$url/api/sse/stream?tags[]=*" 2>/dev/null &
      slow_started[$!]=1
      echo "slow_reader opened" >>"$logs/abuse.counts"
    fi
    i=$((i + 1))
    sleep 1
  done
  for fd in "${slow[@]}" "${idle[@]}"; do exec {fd}>&-; done
  wait
}
abuse_loop &
pids+=("$!")

# ---------------------------------------------------------------------------
# Sampling.
page=$(getconf PAGESIZE)
# /api/stats: {"streams":{"open":N,"opened":N,"closed":N,"slowDropped":N},...}
stream_stat() {  # JSON KEY
  sed -n "s/.*\"streams\":{[^}]*\"$2\":\([0-9]*\).*/\1/p" <<<"$1"
}
sample() {
  local t=$1 rss anon fds threads stats health
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$srv_pid/status" 2>/dev/null || echo 0)
  anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$srv_pid/status" 2>/dev/null || echo 0)
  fds=$(ls "/proc/$srv_pid/fd" 2>/dev/null | wc -l)
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$srv_pid/status" 2>/dev/null || echo 0)
  stats=$(curl -s --max-time 5 -H "$auth" "$url/api/stats" 2>/dev/null || true)
  health=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/healthz" 2>/dev/null || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rss" "$anon" "$fds" "$threads" \
    "$(stream_stat "$stats" open)" \
    "$(stream_stat "$stats" opened)" "$(stream_stat "$stats" slowDropped)" "${health:-000}" | tee -a "$tsv"
}
printf 'elapsed_s\trss_kib\trss_anon_kib\tfds\tthreads\topen_streams\tstreams_opened\tslow_dropped\thealthz\n' |
  tee "$tsv"
start=$SECONDS
while ((SECONDS < end_at)); do
  sample $((SECONDS - start))
  kill -0 "$srv_pid" 2>/dev/null || { log "the server died"; tail -50 "$logs/server.log" >&2; break; }
  sleep $((sample_every - (SECONDS - start) % sample_every))
done
sample $((SECONDS - start))
alive=1
kill -0 "$srv_pid" 2>/dev/null || alive=0

log "waiting for the loads to finish"
for pid in "${pids[@]:1}"; do wait "$pid" 2>/dev/null || true; done
# After the loads: does it still answer, and what does it hold at rest?
sleep 5
final_health=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/healthz" 2>/dev/null || echo 000)
rest_fds=$(ls "/proc/$srv_pid/fd" 2>/dev/null | wc -l)
rest_rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$srv_pid/status" 2>/dev/null || echo 0)

# ---------------------------------------------------------------------------
# Report.
at() {  # COLUMN ELAPSED: the value of the first sample at or after ELAPSED
  awk -F'\t' -v c="$1" -v t="$2" 'NR > 1 && $1 >= t {print $c; exit}' "$tsv"
}
last() { awk -F'\t' -v c="$1" 'NR > 1 {v = $c} END {print v}' "$tsv"; }
maxafter() { awk -F'\t' -v c="$1" -v t="$2" 'NR > 1 && $1 >= t && $c > m {m = $c} END {print m}' "$tsv"; }
half=$((duration / 2))
rss_w=$(at 2 "$warmup") rss_h=$(at 2 "$half") rss_e=$(last 2) fds_w=$(at 4 "$warmup") fds_e=$(last 4)
count_kind() { awk -v k="$1" '$1 == k' "$logs/abuse.counts" | awk '{print $2}' | sort | uniq -c |
  awk '{printf "%s%s×%s", sep, $2, $1; sep=", "} END {if (!NR) printf "-"}'; }
report=$work/report.md
{
  echo "### Soak ($(date -u +%Y-%m-%d), $minutes min, $build_type build, $(nproc) shared cores)"
  echo
  echo "| | at warm-up end (${warmup} s) | at half time (${half} s) | at the end | growth from warm-up end | growth in the second half | max after warm-up |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  awk -v a="$rss_w" -v h="$rss_h" -v b="$rss_e" -v m="$(maxafter 2 "$warmup")" \
    'BEGIN {printf "| RSS (MiB) | %.1f | %.1f | %.1f | %+.1f (%+.1f %%) | %+.1f (%+.1f %%) | %.1f |\n", a/1024, h/1024, b/1024, (b-a)/1024, a ? 100*(b-a)/a : 0, (b-h)/1024, h ? 100*(b-h)/h : 0, m/1024}'
  awk -v a="$(at 3 "$warmup")" -v h="$(at 3 "$half")" -v b="$(last 3)" \
    'BEGIN {printf "| of which anonymous (MiB) | %.1f | %.1f | %.1f | %+.1f | %+.1f | |\n", a/1024, h/1024, b/1024, (b-a)/1024, (b-h)/1024}'
  echo "| open files | $fds_w | $(at 4 "$half") | $fds_e | $((fds_e - fds_w)) | $((fds_e - $(at 4 "$half"))) | $(maxafter 4 "$warmup") |"
  echo "| threads | $(at 5 "$warmup") | $(at 5 "$half") | $(last 5) | | | |"
  echo "| open streams | $(at 6 "$warmup") | $(at 6 "$half") | $(last 6) | | | |"
  echo "| streams opened (total) | $(at 7 "$warmup") | $(at 7 "$half") | $(last 7) | | | |"
  echo "| slow streams dropped (total) | $(at 8 "$warmup") | $(at 8 "$half") | $(last 8) | | | |"
  echo
  echo "After the loads stopped (5 s later): RSS $((rest_rss / 1024)) MiB, $rest_fds open files;" \
    "/healthz answered $final_health; the server $( ((alive)) && echo 'ran throughout' || echo 'DIED')."
  echo
  echo "| load | served | errors |"
  echo "|---|---:|---|"
  echo "| stream churn (opens) | $(result "$logs/opens.txt" ok) opens ($(result "$logs/opens.txt" opens_per_s)/s, p99 $(result "$logs/opens.txt" p99_ms) ms) | HTTP $(result "$logs/opens.txt" statuses), transport $(result "$logs/opens.txt" transport_errors), timeouts $(result "$logs/opens.txt" timeouts) |"
  echo "| held streams (sse) | $(result "$logs/sse.txt" ready)/200 streams, $(result "$logs/sse.txt" delivered_updates) updates (carried $(result "$logs/sse.txt" carried_pct) %) | HTTP $(result "$logs/sse.txt" http_errors), drops $(result "$logs/sse.txt" drops), reconnects $(result "$logs/sse.txt" reconnects) |"
  echo "| ingest | $(result "$logs/ingest.txt" ok_requests) requests, $(result "$logs/ingest.txt" ok_samples) samples | $(result "$logs/ingest.txt" failed_requests) failed |"
  echo "| history | $(awk '{s += $2} END {print s + 0}' "$logs/history.counts" 2>/dev/null) queries | $(cat "$logs/history.errors" 2>/dev/null | wc -l) failed runs |"
  for kind in oversized_body garbage_lines future_timestamp no_token bad_token bad_jwt huge_url huge_header; do
    echo "| abuse: $kind | $(awk -v k="$kind" '$1 == k' "$logs/abuse.counts" | wc -l) requests | answers: $(count_kind "$kind") |"
  done
  echo "| abuse: slowloris / idle / slow readers | $(grep -c '^slowloris' "$logs/abuse.counts") half headers, $(awk '$1 == "idle_connections" {s += $3} END {print s + 0}' "$logs/abuse.counts") idle connections, $(grep -c '^slow_reader' "$logs/abuse.counts") 1 B/s streams | |"
  echo
  echo "Raw samples: ${tsv#"$ROOT"/}."
} >"$report"
echo
cat "$report"
for f in opens sse ingest; do
  if grep -q 'first error' "$logs/$f.txt"; then echo "$f: $(grep -m1 'first error' "$logs/$f.txt")"; fi
done
if [[ -s $logs/history.errors ]]; then echo "history: $(head -1 "$logs/history.errors")"; fi
if [[ -s $logs/server.log ]]; then
  echo "server log (warnings and errors, by count):"
  sed -E 's/^[^ ]+ +[^ ]+ +//; s/[0-9]+/N/g' "$logs/server.log" | sort | uniq -c | sort -rn | head -15
fi
if [[ -n $out_file ]]; then cp "$report" "$out_file"; fi
((alive)) && [[ $final_health == 200 ]]
