#!/usr/bin/env bash
# Cluster benchmarks (issue 18): tagstream nodes joined by Redis Streams
# (--cluster redis://...) over one PostgreSQL (--store postgres://...), all
# on this machine, against nginx + nchan in its Redis mode on the same Redis.
#
#   bench/cluster.sh           full run (3 rounds; about 12 minutes)
#   bench/cluster.sh --short   quick run (1 round; about 3 minutes)
#
# Parts:
#   1 latency   publish on node A (line protocol, the publish time in every
#               value), stream on node B (SSE): p50/p99 from write to receipt
#               at 1k, 10k and 100k samples/s; the same A to A, and on a
#               cluster of one node, for reference
#   2 fan-out   the whole cluster at saturation: samples/s ingested and tag
#               updates/s delivered, 3 nodes vs 1 node (streams and writes
#               spread over the nodes), and nginx + nchan with
#               nchan_redis_url on the same redis-server (3 nginx vs 1,
#               publishers and subscribers spread the same way); CPU per
#               delivered update summed over every process (tagstream,
#               redis-server, PostgreSQL and its backends / nginx and its
#               workers, redis-server) from /proc
#   3 failover  streams through nginx (deploy/nginx/tagstream.conf with the
#               nodes' ports) on 3 nodes; kill -9 the node holding the most;
#               time from the kill to the last of its streams' first event
#               after resuming on a survivor (browser-like reconnect after
#               the server's retry: with Last-Event-ID); every stream checked
#               for gaps and duplicates
#
# Options:
#   --short              quick run (shorter windows, one round, fewer streams)
#   --build-dir DIR      build (or reuse) Release tagstream and tagstream-bench
#                        in DIR (default build-bench)
#   --parts LIST         only these parts, e.g. 1,3 (default 1,2,3)
#   --rounds N           rounds of every measurement (full 3, short 1); medians reported
#   --out FILE           also write the report (Markdown) to FILE
#   --publish-connections N  the publisher's connections in part 2 (256: nchan
#                        takes one POST per update, tagstream one request per batch)
#   --allow-no-cluster   run even if this tagstream has no --cluster option: the
#                        "nodes" are then unconnected servers (tries the script
#                        itself; its numbers mean nothing)
#
# It installs what is missing (redis-server, postgresql, nginx-light,
# libnginx-mod-nchan), starts every service itself on 127.0.0.1 (free ports,
# files in a temporary directory), and on exit stops everything it started
# and removes the directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

short=0
build_dir=build-bench
parts=1,2,3
rounds=
out_file=
allow_no_cluster=0
publish_connections=256
while (($#)); do
  case $1 in
    --short) short=1 ;;
    --full) short=0 ;;
    --build-dir) build_dir=$2; shift ;;
    --parts) parts=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --out) out_file=$2; shift ;;
    --allow-no-cluster) allow_no_cluster=1 ;;
    --publish-connections) publish_connections=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ,$parts, == *,$1,* ]]; }

# Sizes, full / short.
if ((short)); then
  : "${rounds:=1}"
  lat_s=4 fan_s=5 fan_streams=1000 fo_streams=600 fo_before=2 fo_after=2
else
  : "${rounds:=3}"
  lat_s=10 fan_s=10 fan_streams=2000 fo_streams=3000 fo_before=5 fo_after=5
fi
# Part 1: samples/s -> tags at 10 Hz each; 10 streams (100 at 100k) share the tags.
lat_rates=(1000 10000 100000)
lat_streams=10
# Part 2: 100 tags at 40 Hz (4,000 samples/s in), each stream on 10 of them:
# every tag goes to streams/10 streams (400k / 800k updates/s offered: more
# than this machine delivers, so the delivered rate is the capacity).
fan_tags=100 fan_rate=40 fan_tags_per_stream=10
# Part 3: 10 tags at 10 Hz, stream i on tag i mod 10.
fo_tags=10 fo_rate=10
sources=100  # client source addresses 127.0.0.1..100

source "$ROOT/bench/common.sh"

# ---------------------------------------------------------------------------
# Install what is missing, build.
./scripts/install-deps.sh
nchan_module=/usr/lib/nginx/modules/ngx_nchan_module.so
need=()
command -v nginx >/dev/null || need+=(nginx-light)
[[ -f $nchan_module ]] || need+=(libnginx-mod-nchan)
command -v redis-server >/dev/null || need+=(redis-server)
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || need+=(postgresql)
command -v curl >/dev/null || need+=(curl)
install_without_services "${need[@]}"

jobs=${JOBS:-2}
log "building Release tagstream and tagstream-bench in $build_dir (-j$jobs)"
build_log=$(mktemp /tmp/cluster-bench-build.XXXXXX)
quiet() { "$@" >>"$build_log" 2>&1 || { cat "$build_log" >&2; rm -f "$build_log"; exit 1; }; }
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  # Without -Werror: GCC 12 at -O3 reports a false -Wrestrict in
  # std::string's inlined code (src/ingest/json_samples.cc), which only
  # stops the Release build.
  quiet cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTAGSTREAM_TESTS=OFF -DTAGSTREAM_WERROR=OFF
fi
quiet cmake --build "$build_dir" -j "$jobs" --target tagstream tagstream-bench
rm -f "$build_log"
[[ $build_dir = /* ]] || build_dir=$ROOT/$build_dir
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
tagstream=$build_dir/tagstream
bench=$build_dir/tagstream-bench

clustered=1
# (The help is read whole first: grep -q quitting early would make
# tagstream die of SIGPIPE and, with pipefail, the test fail.)
serve_help=$("$tagstream" serve --help 2>&1 || true)
if [[ $serve_help != *--cluster* ]]; then
  if ((allow_no_cluster)); then
    log "WARNING: this tagstream has no --cluster: the nodes are NOT joined, the numbers mean nothing"
    clustered=0
  else
    echo "cluster.sh: $tagstream has no --cluster option (issue 18's cluster is not in this tree yet)" >&2
    exit 1
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cluster-bench.XXXXXX")
raw=$work/raw
mkdir -p "$raw"
fd_hard=$(ulimit -Hn)
ulimit -Sn "$fd_hard"

# What else runs on this machine (it is shared): load and the busiest
# processes over the first second.
others_at_start=$(ps -eo pcpu=,comm= --sort=-pcpu | awk 'NR <= 5 && $1 > 1 { printf "%s%s %s%%", sep, $2, $1; sep = ", " }')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%MZ)
t_start=$(date +%s)

# ---------------------------------------------------------------------------
# Services.
log "starting redis-server and PostgreSQL (initdb in $work)"
start_redis "$work"
start_postgres "$work"
redis_url="redis://127.0.0.1:$redis_port/0"

# Nodes: node_pid[i], node_port[i], node_url[i]. A node goes first in pids,
# so on exit the nodes stop before Redis and PostgreSQL.
declare -a node_pid node_port node_url node_args
# start_node I THREADS EXTRA...: node I on its port (kept across restarts).
start_node() {
  local i=$1 threads=$2 dir=$work/node$1 pid
  shift 2
  mkdir -p "$dir"
  [[ -n ${node_port[$i]:-} ]] || node_port[$i]=$(free_port)
  local cluster_args=()
  ((clustered)) && cluster_args=(--cluster "$redis_url")
  # --trusted-proxies: behind nginx (part 3) each client's streams count
  # by X-Forwarded-For, as in a deployment. No per-client rate limits: one
  # load generator measures the cluster, not the limiter.
  "$tagstream" serve --no-simulator --listen "127.0.0.1:${node_port[$i]}" --data-dir "$dir" \
    --store "$pg_url" "${cluster_args[@]}" --node-id "node$i" --threads "$threads" --log-level warn \
    --data-check-interval 0 --max-streams 19500 --max-streams-per-client 19500 --trusted-proxies 127.0.0.1 \
    --max-tags 2000000 --max-new-tags-per-request 1000000 --max-new-tags-per-minute 10000000 \
    --write-rate-limit 0 "$@" >>"$dir/log" 2>&1 &
  pid=$!
  pids=("$pid" "${pids[@]}")
  node_pid[$i]=$pid
  node_url[$i]=http://127.0.0.1:${node_port[$i]}
  wait_until_up "node$i" "${node_url[$i]}/healthz" "$pid" "$dir/log"
}
stop_nodes() {
  local i
  for i in "${!node_pid[@]}"; do stop_pid "${node_pid[$i]}"; done
  node_pid=() node_port=() node_url=()
}
# start_cluster N THREADS: N nodes.
start_cluster() {
  local n=$1 threads=$2 i
  for ((i = 0; i < n; i++)); do start_node "$i" "$threads"; done
}
node_pids_csv() { local IFS=,; echo "${node_pid[*]}"; }
node_urls_csv() { local IFS=,; echo "${node_url[*]}"; }

# nginx + nchan on Redis: N instances, nginx_url[i], nginx_pid[i]. The
# streaming benchmark's config (bench/nchan/nginx.conf.in) with the channel
# storage moved to the same redis-server.
declare -a nginx_pid nginx_url
start_nchan() {
  local n=$1 workers=$2 i port dir
  for ((i = 0; i < n; i++)); do
    port=$(free_port)
    dir=$(mktemp -d "$work/nchan.XXXXXX")
    sed -e "s|@MODULE@|$nchan_module|; s|@WORKERS@|$workers|; s|@NOFILE@|$fd_hard|" \
        -e "s|@CONNECTIONS@|$((fd_hard - 100))|; s|@DIR@|$dir|g; s|@PORT@|$port|; s|@PING@|30|" \
        -e "s|^\( *\)nchan_message_timeout .*|&\n\1nchan_redis_url \"redis://127.0.0.1:$redis_port\";\n\1nchan_use_redis on;|" \
        bench/nchan/nginx.conf.in >"$dir/nginx.conf"
    grep -q nchan_redis_url "$dir/nginx.conf" || { echo "cluster.sh: could not add nchan_redis_url" >&2; exit 1; }
    nginx -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
    nginx_pid[$i]=$!
    pids=("${nginx_pid[$i]}" "${pids[@]}")
    nginx_url[$i]=http://127.0.0.1:$port
    local ok=0
    for _ in $(seq 1 100); do
      if [[ $(pgrep -c -P "${nginx_pid[$i]}" || true) -ge $workers ]] &&
         curl -sf -o /dev/null -X POST --data x "${nginx_url[$i]}/pub/up_check"; then ok=1; break; fi
      kill -0 "${nginx_pid[$i]}" 2>/dev/null || break
      sleep 0.1
    done
    ((ok)) || { echo "nginx + nchan did not start" >&2; cat "$dir/stdout.log" "$dir/error.log" >&2; exit 1; }
  done
}
stop_nchan() {
  local i
  for i in "${!nginx_pid[@]}"; do stop_pid "${nginx_pid[$i]}"; done
  nginx_pid=() nginx_url=()
}

# run_bench NAME ARGS...: tagstream-bench, its output kept as $raw/NAME.txt.
run_bench() {
  local name=$1; shift
  local f=$raw/$name.txt
  if ! "$bench" "$@" >"$f" 2>&1; then
    log "tagstream-bench $name failed:"
    cat "$f" >&2
    return 1
  fi
  grep -vE '^(RESULT|sse:|server processes)' "$f" | sed 's/^/    /' >&2 || true
}
r() { result "$raw/$1.txt" "$2" 2>/dev/null || true; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR == 0) print ""; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
# med KEY NAME-PREFIX: the median of KEY over the rounds NAME-r1..rN.
med() { local key=$1 name=$2 i vals=(); for ((i = 1; i <= rounds; i++)); do vals+=("$(r "$name-r$i" "$key")"); done; median "${vals[@]}"; }
all_rounds() { local key=$1 name=$2 i out=(); for ((i = 1; i <= rounds; i++)); do out+=("$(r "$name-r$i" "$key")"); done; echo "${out[*]}"; }
fmt_int() { [[ -z $1 ]] && { echo "n/a"; return; }; printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
ms() { [[ -z $1 ]] && { echo "n/a"; return; }; awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 <= 0) print "n/a"; else printf "%.2f×", a / b }'; }
verdict() {  # A OP B
  if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN { if (a == "" || b == "") exit 1; ok = op == ">=" ? a + 0 >= b + 0 : op == "<=" ? a + 0 <= b + 0 : a + 0 < b + 0; exit !ok }'; then
    echo met
  else
    echo '**missed**'
  fi
}
rows=()
row() { rows+=("|$1|$2|$3|$4|"); }

# all_pids_csv: every process of the tagstream side (nodes, redis-server,
# postgres: its backends are its children) or the nchan side (nginx masters:
# workers are children, redis-server).
ts_pids() { local IFS=,; echo "${node_pid[*]},$redis_pid,$pg_pid"; }
nchan_pids() { local IFS=,; echo "${nginx_pid[*]},$redis_pid"; }

# ---------------------------------------------------------------------------
# Part 1: cross-node latency.
# lat_run NAME PUB_URL STREAM_URL SAMPLES_PER_S PREFIX
lat_run() {
  local name=$1 pub=$2 sub=$3 sps=$4 prefix=$5
  local tags=$((sps / 10))
  # At most 100 tags per stream (a stream URL names each tag): 10 streams
  # up to 10k samples/s, 100 streams at 100k.
  local streams=$((tags / 100 > lat_streams ? tags / 100 : lat_streams))
  local per_stream=$((tags / streams))
  log "part 1: $name: $sps samples/s ($tags tags x 10 Hz), published on $pub, streamed from $sub (${lat_s} s)"
  run_bench "$name" sse --server tagstream --url "$sub" --pub-url "$pub" --label "$name" --prefix "$prefix" \
    --streams "$streams" --tags "$tags" --tags-per-stream "$per_stream" --rate 10 --seconds "$lat_s" \
    --drain 5 --connect-timeout 20 --source-addresses "$sources" --publish-connections 16 --server-pids "$(ts_pids)" \
    --server-children true || true
}

# Part 2: the fan-out, spread. fan_run NAME KIND STREAM_URLS PUB_URLS PIDS PREFIX
fan_run() {
  local name=$1 kind=$2 urls=$3 pubs=$4 pids_csv=$5 prefix=$6
  log "part 2: $name: $fan_streams streams x $fan_tags_per_stream of $fan_tags tags at $fan_rate Hz (${fan_s} s)"
  run_bench "$name" sse --server "$kind" --url "$urls" --pub-url "$pubs" --label "$name" --prefix "$prefix" \
    --streams "$fan_streams" --tags "$fan_tags" --tags-per-stream "$fan_tags_per_stream" --rate "$fan_rate" \
    --seconds "$fan_s" --drain 5 --source-addresses "$sources" --publish-connections "$publish_connections" \
    --server-pids "$pids_csv" --server-children true || true
}

threads=$(nproc)
run_id=0
next_prefix() { run_id=$((run_id + 1)); echo "c${run_id}"; }

# nchan first (the tagstream nodes are not running yet).
if want 2; then
  for ((i = 1; i <= rounds; i++)); do
    start_nchan 1 "$threads"
    fan_run "fan-nchan1-r$i" nchan "${nginx_url[0]}" "${nginx_url[0]}" "$(nchan_pids)" "$(next_prefix)"
    stop_nchan
    start_nchan 3 1
    urls=$(IFS=,; echo "${nginx_url[*]}")
    fan_run "fan-nchan3-r$i" nchan "$urls" "$urls" "$(nchan_pids)" "$(next_prefix)"
    stop_nchan
  done
fi

# One node (a cluster of one: same Redis, same PostgreSQL).
if want 1 || want 2; then
  log "a cluster of one node ($threads threads)"
  start_cluster 1 "$threads"
  if want 1; then
    for ((i = 1; i <= rounds; i++)); do
      for sps in "${lat_rates[@]}"; do
        lat_run "lat-one-$sps-r$i" "${node_url[0]}" "${node_url[0]}" "$sps" "$(next_prefix)"
      done
    done
  fi
  if want 2; then
    for ((i = 1; i <= rounds; i++)); do
      fan_run "fan-ts1-r$i" tagstream "${node_url[0]}" "${node_url[0]}" "$(ts_pids)" "$(next_prefix)"
    done
  fi
  stop_nodes
fi

# Three nodes, one thread each.
if want 1 || want 2 || want 3; then
  log "a cluster of three nodes (1 thread each)"
  start_cluster 3 1
fi
if want 1; then
  for ((i = 1; i <= rounds; i++)); do
    for sps in "${lat_rates[@]}"; do
      lat_run "lat-ab-$sps-r$i" "${node_url[0]}" "${node_url[1]}" "$sps" "$(next_prefix)"
      lat_run "lat-aa-$sps-r$i" "${node_url[0]}" "${node_url[0]}" "$sps" "$(next_prefix)"
    done
  done
fi
if want 2; then
  for ((i = 1; i <= rounds; i++)); do
    fan_run "fan-ts3-r$i" tagstream "$(node_urls_csv)" "$(node_urls_csv)" "$(ts_pids)" "$(next_prefix)"
  done
fi

# ---------------------------------------------------------------------------
# Part 3: failover through the shipped nginx config.
if want 3; then
  fo_dir=$work/nginx-front
  mkdir -p "$fo_dir"
  front_port=$(free_port)
  redirect_port=$(free_port)
  # deploy/nginx/tagstream.conf as shipped, but: the three upstreams are the
  # nodes, both servers listen on loopback, and the 443 server speaks plain
  # HTTP (the load generator has no TLS; the failover path is the same).
  site=$(cat deploy/nginx/tagstream.conf)
  shipped=(10.0.0.11:8080 10.0.0.12:8080 10.0.0.13:8080)
  for i in 0 1 2; do
    [[ $site == *"${shipped[$i]}"* ]] || { echo "cluster.sh: ${shipped[$i]} not in deploy/nginx/tagstream.conf" >&2; exit 1; }
    site=${site/"${shipped[$i]}"/127.0.0.1:${node_port[$i]}}
  done
  site=${site/"listen 80;"/listen 127.0.0.1:$redirect_port;}
  site=${site/"listen 443 ssl http2;"/listen 127.0.0.1:$front_port;}
  printf '%s\n' "$site" | grep -vE '^\s*ssl_' >"$fo_dir/tagstream.conf"
  cat >"$fo_dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $fd_hard;
daemon off;
master_process on;
pid $fo_dir/nginx.pid;
error_log $fo_dir/error.log warn;
events { worker_connections $((fd_hard - 100)); multi_accept on; }
http {
    access_log off;
    client_body_temp_path $fo_dir/client_body;
    proxy_temp_path $fo_dir/proxy;
    fastcgi_temp_path $fo_dir/fastcgi;
    uwsgi_temp_path $fo_dir/uwsgi;
    scgi_temp_path $fo_dir/scgi;
    include $fo_dir/tagstream.conf;
}
EOF
  nginx -c "$fo_dir/nginx.conf" >"$fo_dir/stdout.log" 2>&1 &
  front_pid=$!
  pids=("$front_pid" "${pids[@]}")
  wait_until_up nginx "http://127.0.0.1:$front_port/healthz" "$front_pid" "$fo_dir/stdout.log" "$fo_dir/error.log"
  for ((i = 1; i <= rounds; i++)); do
    log "part 3, round $i/$rounds: $fo_streams streams through nginx, kill -9 the node holding the most"
    run_bench "failover-r$i" failover --url "http://127.0.0.1:$front_port" --node-urls "$(node_urls_csv)" \
      --node-pids "$(node_pids_csv)" --streams "$fo_streams" --tags "$fo_tags" --rate "$fo_rate" \
      --before "$fo_before" --after "$fo_after" --source-addresses "$sources" --prefix "$(next_prefix)" || true
    # Bring the victim back (same port) for the next round; its streams
    # went to the survivors, so the next victim is another node.
    victim=$(r "failover-r$i" victim)
    if [[ -n $victim ]] && ! kill -0 "${node_pid[$victim]}" 2>/dev/null; then
      wait "${node_pid[$victim]}" 2>/dev/null || true
      start_node "$victim" 1
    fi
  done
fi
stop_nodes

# ---------------------------------------------------------------------------
# Report.
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(($(date +%s) - t_start))
if want 1; then
  for sps in "${lat_rates[@]}"; do
    ab=lat-ab-$sps aa=lat-aa-$sps one=lat-one-$sps
    # Medians over the rounds; the p99 of every round beside.
    desc() { echo "$(ms "$(med p50_us "$1")") / $(ms "$(med p99_us "$1")") (p99 µs of each round: $(all_rounds p99_us "$1"); $(fmt_int "$(med published "$1")") of $(fmt_int "$(med scheduled "$1")") published, $(med carried_pct "$1") % carried)"; }
    goal=" " met=" "
    if [[ $sps == 10000 ]]; then goal="p99 < 5 ms A→B"; met=$(verdict "$(med p99_us "$ab")" "<" 5000); fi
    row " 1 latency $(fmt_int "$sps") samples/s: p50 / p99 ms, A→B (3 nodes) | $(desc "$ab") " \
        " A→A (3 nodes): $(desc "$aa"); one node: $(desc "$one") " " $goal " " $met "
  done
fi
if want 2; then
  declare -A ups cpu ins
  for who in ts1 ts3 nchan1 nchan3; do
    ups[$who]=$(med updates_per_s "fan-$who")
    cpu[$who]=$(med cpu_us_per_update "fan-$who")
    # samples/s ingested: published updates over the window.
    ins[$who]=$(for ((i = 1; i <= rounds; i++)); do awk -v p="$(r "fan-$who-r$i" published)" -v w="$fan_s" 'BEGIN { printf "%.0f\n", p / w }'; done | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  done
  fan_desc() { echo "$(fmt_int "${ups[$1]}") updates/s, $(fmt_int "${ins[$1]}") samples/s in, $(awk -v c="${cpu[$1]}" 'BEGIN { printf "%.2f", c }') µs CPU/update"; }
  row " 2 fan-out, 3 nodes vs 1 node (tagstream) | 3: $(fan_desc ts3) " " 1: $(fan_desc ts1); 3/1: $(ratio "${ups[ts3]}" "${ups[ts1]}") updates/s " " " " "
  row " 2 fan-out, 3 nginx vs 1 nginx (nchan, Redis) | 3: $(fan_desc nchan3) " " 1: $(fan_desc nchan1); 3/1: $(ratio "${ups[nchan3]}" "${ups[nchan1]}") updates/s " " " " "
  for n in 3 1; do
    row " 2 fan-out, $n vs $n: delivered updates/s tagstream / nchan | $(ratio "${ups[ts$n]}" "${ups[nchan$n]}") " " " " ≥ 2× " " $(verdict "$(awk -v a="${ups[ts$n]}" -v b="${ups[nchan$n]}" 'BEGIN { if (b > 0) print a / b }')" ">=" 2) "
    row " 2 fan-out, $n vs $n: CPU µs per delivered update tagstream / nchan | $(ratio "${cpu[ts$n]}" "${cpu[nchan$n]}") " " " " ≤ 0.5× " " $(verdict "$(awk -v a="${cpu[ts$n]}" -v b="${cpu[nchan$n]}" 'BEGIN { if (b > 0) print a / b }')" "<=" 0.5) "
  done
fi
if want 3; then
  fo=$(med failover_s failover)
  row " 3 failover: kill -9 → last dropped stream's first event after resume (s), median | $fo (rounds: $(all_rounds failover_s failover)) " \
      " reconnected (headers) $(med reconnect_s failover) s; streams on the victim $(all_rounds victim_streams failover), dropped $(all_rounds dropped failover), spread $(all_rounds spread failover); retry $(r failover-r1 retry_ms) ms (sent by the server: $(r failover-r1 retry_sent)) " \
      " < 5 s " " $(verdict "$fo" "<" 5) "
  gaps=0
  for ((i = 1; i <= rounds; i++)); do
    gaps=$((gaps + $(r "failover-r$i" missing || echo 1) + $(r "failover-r$i" duplicates || echo 1) + $(r "failover-r$i" out_of_order || echo 1) + $(r "failover-r$i" id_regressions || echo 1)))
  done
  row " 3 failover: points missing / duplicated / out of order / id regressions / history_lost (all rounds) | $(all_rounds missing failover) / $(all_rounds duplicates failover) / $(all_rounds out_of_order failover) / $(all_rounds id_regressions failover) / $(all_rounds history_lost failover) " \
      " of $(all_rounds expected failover) expected; never resumed $(all_rounds never_resumed failover); publish failed $(all_rounds publish_failed failover) " " none " " $( ((gaps == 0)) && echo met || echo '**missed**') "
fi

nchan_version=$(dpkg-query -W -f '${Version}' libnginx-mod-nchan 2>/dev/null || echo '?')
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mode=$( ((short)) && echo short || echo full)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ' (with uncommitted changes)' || true)
report=$(cat <<EOF
### Cluster: 3 nodes vs 1 vs nginx + nchan on Redis ($started, $mode form, ${elapsed} s$( ((clustered)) || echo ', NODES NOT CLUSTERED: a dry run'))

| part: metric | result | beside it | goal | met? |
|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

- Part 1: $lat_streams streams on node B (100 at 100k samples/s), the tags split between them (every tag on one stream), each tag written 10 times a second on node A through \`POST /write?precision=us\` (16 connections, a tag's next write after the answer to its last), the publish time in the value; latency from the write to the kernel's receive stamp at the client. ${lat_s} s windows, median of $rounds round(s).
- Part 2: $fan_streams streams, each on $fan_tags_per_stream of $fan_tags tags (each tag on $((fan_streams * fan_tags_per_stream / fan_tags)) streams), every tag at $fan_rate Hz ($((fan_tags * fan_rate)) samples/s offered), ${fan_s} s windows, median of $rounds round(s); streams and publisher connections spread over the nodes (or nginx instances) in turn. CPU: utime+stime from /proc of every process of the side: tagstream nodes, redis-server, PostgreSQL and its backends; or nginx masters and workers, redis-server. 1 node / 1 nginx: $threads threads / workers; 3: one each. nchan: bench/nchan/nginx.conf.in with \`nchan_redis_url\` + \`nchan_use_redis on\` on the same redis-server, one POST per update on up to $publish_connections connections (tagstream: a tag's updates due together in one request, one request per tag in flight), one multiplexed EventSource per stream.
- Part 3: $fo_streams streams through nginx (deploy/nginx/tagstream.conf, upstreams rewritten to the nodes, TLS off), stream i on tag i mod $fo_tags, $fo_tags tags × $fo_rate Hz written to the survivors; kill -9 after ${fo_before} s; dropped streams reconnect after the \`retry:\` the server sent, with Last-Event-ID; ${fo_after} s more after the last resume; every point checked on every stream.
- Nodes: \`tagstream serve --cluster redis://… --store postgres://… --data-check-interval 0 --log-level warn\`; redis-server $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p') (deploy/redis/tagstream-redis.conf: appendonly, fsync every second), $(/usr/lib/postgresql/15/bin/postgres --version) (defaults: fsync on, synchronous_commit on), nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), libnginx-mod-nchan $nchan_version.
- Machine: $(nproc) shared cores ($cpu_model), $(free -g | awk '/^Mem:/ {print $2 " GiB"}') RAM, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r). Everything (nodes, Redis, PostgreSQL, nginx, the load generator) on the same $(nproc) cores, shared with other work: load average $load_start at the start, $load_end at the end; busiest other processes at the start: ${others_at_start:-none above 1 %}.
- tagstream $rev$dirty ($build_type). Raw outputs: every tagstream-bench run's lines are printed above the table while it runs.
EOF
)
printf '\n%s\n' "$report"
if [[ -n $out_file ]]; then printf '%s\n' "$report" >"$out_file"; log "report written to $out_file"; fi
