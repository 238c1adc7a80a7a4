#!/usr/bin/env bash
# Authentication cost (issue 15: "at most 5 % lower ingest and stream-open
# rates with JWT auth on"): the same loads against two tagstream servers
# started the same way, one without authentication ("off") and one with an
# API-key file, an HS256 secret and an ES256 public key, in interleaved
# rounds, so that both see the same machine at the same time.
#
#   bench/auth.sh            5 rounds of 10 s per mode (about 15 minutes)
#   bench/auth.sh --short    2 rounds of 3 s per mode (about 2 minutes)
#
# Each round runs, one after the other (the order of the four modes turning
# by one each round):
#   ingest  off, API key, HS256 JWT, ES256 JWT
#           (tagstream-bench ingest: 4 keep-alive connections POSTing 5,000-line
#           batches to /write as fast as answered: the historian benchmark's load;
#           each run starts once its server has committed everything it was sent)
#   opens   off, API key, HS256 JWT, ES256 JWT, and ES256 / HS256 with a fresh
#           JWT per open (tagstream-bench opens: 8 clients connect, GET
#           /api/sse/stream, read to the `connected` event, close). The server
#           caches verified JWTs (4,096, dropped when full), so one token
#           costs a lookup after its first use; cycling through 10,000
#           distinct tokens (signed beforehand by tagstream-bench jwts) makes
#           every open pay the signature check: the uncached worst case.
# and prints one Markdown table: the median over the rounds of samples/s and
# opens/s (and open latency p50/p99) per mode, and the ratio to "off".
#
# Options:
#   --short             2 rounds of 3 s
#   --rounds N          rounds (default 5; --short 2)
#   --seconds S         length of each measurement (default 10; --short 3)
#   --build-dir DIR     build (or reuse) tagstream and tagstream-bench in DIR (default build)
#   --out FILE          also write the report (Markdown) to FILE
#
# Both servers listen on free 127.0.0.1 ports with their data in a temporary
# directory, simulator off; on exit the script stops them and removes the
# directory. Every load generator run stops by itself.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

short=0
build_dir=build
rounds=
seconds=
out_file=
while (($#)); do
  case $1 in
    --short) short=1 ;;
    --full) short=0 ;;
    --rounds) rounds=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --out) out_file=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "auth.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if ((short)); then : "${rounds:=2}" "${seconds:=3}"; else : "${rounds:=5}" "${seconds:=10}"; fi
[[ $rounds =~ ^[1-9][0-9]?$ ]] || { echo "auth.sh: --rounds must be 1..99" >&2; exit 2; }
[[ $seconds =~ ^[1-9][0-9]{0,2}$ ]] || { echo "auth.sh: --seconds must be 1..999" >&2; exit 2; }

source "$ROOT/bench/common.sh"

need=()
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
install_without_services "${need[@]}"

build_bench_binaries auth

work=$(mktemp -d /tmp/tagstream-auth.XXXXXX)
raw=$work/raw
mkdir -p "$raw"

# ---------------------------------------------------------------------------
# Credentials: an API key in a token file, an HS256 secret, a P-256 key pair.
log "making credentials"
head -c 48 /dev/urandom | base64 -w0 >"$work/secret"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/es256.pem" 2>/dev/null
openssl ec -in "$work/es256.pem" -pubout -out "$work/es256.pub" 2>/dev/null
api_key=$("$tagstream" token new --id bench --read '*' --write '*' --file "$work/tokens.toml" 2>/dev/null)
hs_jwt=$("$tagstream" token jwt --sub bench-hs --read '*' --write '*' --expires now+8h --secret-file "$work/secret")
es_jwt=$("$tagstream" token jwt --sub bench-es --read '*' --write '*' --expires now+8h --private-key "$work/es256.pem")
"$bench" jwts --count 10000 --sub-prefix es --read '*' --private-key "$work/es256.pem" --out "$work/es-tokens" >/dev/null
"$bench" jwts --count 10000 --sub-prefix hs --read '*' --secret-file "$work/secret" --out "$work/hs-tokens" >/dev/null

# ---------------------------------------------------------------------------
# The two servers: same flags, one with authentication.
start_server() {  # NAME extra flags...: sets srv_port
  local name=$1 dir pid
  shift
  srv_port=$(free_port)
  dir=$work/$name
  mkdir -p "$dir"
  "$tagstream" serve --no-simulator --data-dir "$dir/data" --listen "127.0.0.1:$srv_port" --log-level warn \
    "$@" >"$dir/log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_until_up "tagstream ($name)" "http://127.0.0.1:$srv_port/healthz" "$pid" "$dir/log"
}
start_server off
off_port=$srv_port
start_server on --token-file "$work/tokens.toml" --jwt-secret-file "$work/secret" --jwt-public-key "$work/es256.pub"
on_port=$srv_port
log "servers: auth off on 127.0.0.1:$off_port, auth on on 127.0.0.1:$on_port"

# The tag the streams open on, written once to each server.
stream_tag=plant.d0.v
for port in "$off_port" "$on_port"; do
  curl -sf -o /dev/null -H "Authorization: Bearer $api_key" --data-binary 'plant,dev=d0 v=1' \
    "http://127.0.0.1:$port/write" || { echo "auth.sh: seeding $stream_tag failed" >&2; exit 1; }
done
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$on_port/api/tags")
[[ $status == 401 ]] || { echo "auth.sh: the auth server answered $status without a token" >&2; exit 1; }

# mode -> port and credential (none, a header, or a file of tokens)
modes=(off key hs256 es256)
port_of() { if [[ $1 == off ]]; then echo "$off_port"; else echo "$on_port"; fi; }
header_of() {
  case $1 in
    key) echo "Authorization: Bearer $api_key" ;;
    hs256) echo "Authorization: Bearer $hs_jwt" ;;
    es256) echo "Authorization: Bearer $es_jwt" ;;
  esac
}
auth_args() {  # MODE: --header options for it (none for off)
  local h
  h=$(header_of "$1")
  if [[ -n $h ]]; then printf '%s\n' --header "$h"; fi
}

# Each ingest run writes its own day of timestamps (from 40 days ago on), so
# that no run overwrites another's samples: every run inserts.
ingest_runs=0
# quiesce PORT: waits (up to 30 s) until the server has committed what it
# was sent (/api/stats store.pendingSamples is 0), then 2 s more, so that no
# run pays for the previous run's commits: the auth server takes three
# ingest runs per round, the other one.
quiesce() {
  local pending
  for _ in $(seq 1 300); do
    pending=$(curl -s --max-time 5 -H "Authorization: Bearer $api_key" "http://127.0.0.1:$1/api/stats" |
      sed -n 's/.*"pendingSamples":\([0-9]*\).*/\1/p')
    [[ $pending == 0 ]] && break
    sleep 0.1
  done
  sleep 2
}

run_ingest() {  # MODE ROUND
  local mode=$1 r=$2 f=$raw/ingest-$1-r$2.txt args=() start
  mapfile -t args < <(auth_args "$mode")
  quiesce "$(port_of "$mode")"
  start=$((($(date +%s) - 40 * 86400 + ingest_runs * 86400) * 1000000000))
  ingest_runs=$((ingest_runs + 1))
  "$bench" ingest --url "http://127.0.0.1:$(port_of "$mode")/write" --connections 4 --lines-per-request 5000 \
    --tags 1000 --seconds "$seconds" --start "$start" "${args[@]}" >"$f" 2>&1 || true
  local v
  v=$(result "$f" samples_per_s)
  if [[ -z $v || $(result "$f" failed_requests) != 0 ]]; then
    log "ingest $mode round $r: errors (see below)"; grep -E 'failed|error' "$f" >&2 || cat "$f" >&2
  fi
  echo "${v:-0}" >>"$raw/ingest-$mode.values"
}

run_opens() {  # MODE ROUND [TOKENS-FILE]
  local mode=$1 r=$2 tokens=${3:-} f=$raw/opens-$1-r$2.txt args=()
  mapfile -t args < <(auth_args "$mode")
  [[ -n $tokens ]] && args=(--tokens-file "$tokens")
  "$bench" opens --url "http://127.0.0.1:$(port_of "$mode")/api/sse/stream?tags[]=$stream_tag" --clients 8 \
    --seconds "$seconds" --label "$mode" "${args[@]}" >"$f" 2>&1 || true
  local label=$mode${tokens:+-fresh} v
  v=$(result "$f" opens_per_s)
  if [[ -z $v || $(result "$f" http_errors) != 0 || $(result "$f" transport_errors) != 0 ]]; then
    log "opens $label round $r: errors (see below)"; grep -E 'error|HTTP' "$f" >&2 || cat "$f" >&2
  fi
  echo "${v:-0}" >>"$raw/opens-$label.values"
  echo "$(result "$f" p50_ms) $(result "$f" p99_ms)" >>"$raw/opens-$label.latency"
}

# A short warm-up of each server (page cache, allocator, first connections).
for mode in off key; do
  "$bench" ingest --url "http://127.0.0.1:$(port_of $mode)/write" --lines-per-request 1000 --seconds 1 \
    --header "Authorization: Bearer $api_key" >/dev/null 2>&1 || true
done

log "$rounds rounds of ${seconds} s per mode"
for r in $(seq 1 "$rounds"); do
  # The order of the modes turns by one each round, so that none is always
  # first (after the other server's runs) or last.
  order=()
  for i in 0 1 2 3; do order+=("${modes[$(((i + r - 1) % 4))]}"); done
  for mode in "${order[@]}"; do run_ingest "$mode" "$r"; done
  for mode in "${order[@]}"; do run_opens "$mode" "$r"; done
  run_opens hs256 "$r" "$work/hs-tokens"
  run_opens es256 "$r" "$work/es-tokens"
  log "round $r/$rounds: ingest off $(tail -1 "$raw/ingest-off.values") es256 $(tail -1 "$raw/ingest-es256.values") samples/s;" \
    "opens off $(tail -1 "$raw/opens-off.values") es256 $(tail -1 "$raw/opens-es256.values")" \
    "es256-fresh $(tail -1 "$raw/opens-es256-fresh.values") /s"
done

# ---------------------------------------------------------------------------
# The report: medians over the rounds, ratio to off.
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
median_col() { awk -v c="$2" '{print $c}' "$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
spread() { sort -g "$1" | awk '{v[NR]=$1} END {printf "%.0f–%.0f", v[1], v[NR]}'; }
describe() {
  case $1 in
    off) echo "auth off" ;;
    key) echo "API key" ;;
    hs256) echo "HS256 JWT (cached)" ;;
    es256) echo "ES256 JWT (cached)" ;;
    hs256-fresh) echo "HS256 JWT, a new one per open" ;;
    es256-fresh) echo "ES256 JWT, a new one per open" ;;
  esac
}
report=$work/report.md
{
  echo "### Authentication cost ($(date -u +%Y-%m-%d), $rounds rounds × ${seconds} s, $build_type build, $(nproc) cores shared with the load generator)"
  echo
  echo "Ingest: 4 connections POSTing 5,000-line batches to /write (the historian benchmark's load), 1,000 tags. Medians over the rounds (range in brackets)."
  echo
  echo "| ingest | samples/s | vs off |"
  echo "|---|---:|---:|"
  off_ingest=$(median <"$raw/ingest-off.values")
  for mode in "${modes[@]}"; do
    m=$(median <"$raw/ingest-$mode.values")
    printf '| %s | %.0f (%s) | %s |\n' "$(describe "$mode")" "$m" "$(spread "$raw/ingest-$mode.values")" \
      "$(ratio "$m" "$off_ingest")"
  done
  echo
  echo "Stream opens: 8 clients, each connect → GET /api/sse/stream → \`connected\` event → close."
  echo
  echo "| stream opens | opens/s | vs off | open p50 ms | open p99 ms |"
  echo "|---|---:|---:|---:|---:|"
  off_opens=$(median <"$raw/opens-off.values")
  for mode in "${modes[@]}" hs256-fresh es256-fresh; do
    m=$(median <"$raw/opens-$mode.values")
    printf '| %s | %.0f (%s) | %s | %.2f | %.2f |\n' "$(describe "$mode")" "$m" \
      "$(spread "$raw/opens-$mode.values")" "$(ratio "$m" "$off_opens")" \
      "$(median_col "$raw/opens-$mode.latency" 1)" "$(median_col "$raw/opens-$mode.latency" 2)"
  done
} >"$report"
echo
cat "$report"
if [[ -n $out_file ]]; then cp "$report" "$out_file"; fi
