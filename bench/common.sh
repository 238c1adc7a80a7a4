# Shared by the benchmark scripts (sourced, not run): logging, free ports,
# RESULT lines, the clean-up on exit, and installing Debian packages whose
# own services must not start, since the benchmarks start their servers
# themselves, on loopback, from generated configs.

# free_port: a TCP port on 127.0.0.1 that nothing listens on, below the
# ephemeral range (32768-60999), where a load generator's own connections
# could hold it.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port found" >&2
  return 1
}

# result FILE KEY: a value from the tagstream-bench output's last "RESULT" line.
result() { grep '^RESULT ' "$1" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

as_root=()
if [[ $(id -u) -ne 0 ]]; then as_root=(sudo); fi

# Set while our policy-rc.d is in place: the clean-up removes it if the
# install is interrupted.
policy_rc_created=0

# What the clean-up stops (pids a script appends to) and removes (its
# temporary directory, once made).
pids=()
work=

stop_pid() {  # PID: TERM, then KILL after 10 s
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# On exit, however the script ends: stop what it started, remove its files.
cleanup() {
  local rc=$?
  set +e
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  if ((policy_rc_created)); then rm -f /usr/sbin/policy-rc.d; fi
  if [[ -n $work && -d $work ]]; then rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# install_without_services PACKAGE...: apt-get installs them (nothing when
# none are given) with invoke-rc.d told not to start their services.
install_without_services() {
  (($#)) || return 0
  log "installing $*"
  if [[ ! -e /usr/sbin/policy-rc.d && $(id -u) -eq 0 ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    policy_rc_created=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq "$@" >/dev/null
  if ((policy_rc_created)); then rm -f /usr/sbin/policy-rc.d; policy_rc_created=0; fi
}

# wait_until_up NAME URL PID LOG...: waits up to 30 s for URL to answer;
# shows the logs and exits if PID ends first or the time runs out.
wait_until_up() {
  local name=$1 url=$2 pid=$3
  shift 3
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$url" && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$@" >&2; exit 1; }
    sleep 0.1
  done
  echo "$name did not start" >&2
  cat "$@" >&2
  exit 1
}

# Builds Release tagstream and tagstream-bench (no tests) in $build_dir,
# configuring it first if needed, then sets build_dir (absolute), build_type,
# tagstream and bench. $1 names the caller in the build log's file name.
build_bench_binaries() {
  local jobs=${JOBS:-2} build_log
  log "building Release tagstream and tagstream-bench in $build_dir (-j$jobs)"
  build_log=$(mktemp "/tmp/$1-build.XXXXXX")
  quiet() { "$@" >>"$build_log" 2>&1 || { cat "$build_log" >&2; rm -f "$build_log"; exit 1; }; }
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    ./scripts/install-deps.sh
    quiet cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTAGSTREAM_TESTS=OFF
  fi
  quiet cmake --build "$build_dir" -j "$jobs" --target tagstream tagstream-bench
  rm -f "$build_log"
  [[ $build_dir = /* ]] || build_dir=$ROOT/$build_dir
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
  tagstream=$build_dir/tagstream
  bench=$build_dir/tagstream-bench
}

# start_postgres DIR: PostgreSQL 15 (Debian's `postgresql`) initdb'd into
# DIR/pg and started on a free loopback port, trust authentication for the
# one user `tagstream`, default durability (fsync=on, synchronous_commit=on).
# PostgreSQL refuses to run as root: as root it runs as `nobody` (setpriv),
# and DIR must be reachable by it. Sets pg_pid, pg_port and pg_url (the
# `postgres` database); the clean-up stops it.
start_postgres() {
  local dir=$1 pg_bin=/usr/lib/postgresql/15/bin
  local run_pg=()
  mkdir -p "$dir/pg"
  if [[ $(id -u) -eq 0 ]]; then
    chmod o+x "$dir"
    chown nobody:nogroup "$dir/pg"
    run_pg=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  fi
  "${run_pg[@]}" "$pg_bin/initdb" -D "$dir/pg/data" -U tagstream -A trust -E UTF8 --no-instructions \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  pg_port=$(free_port)
  "${run_pg[@]}" "$pg_bin/postgres" -D "$dir/pg/data" -h 127.0.0.1 -p "$pg_port" -k "$dir/pg" \
    >>"$dir/postgres.log" 2>&1 &
  pg_pid=$!
  pids+=("$pg_pid")
  for _ in $(seq 1 300); do
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break
    kill -0 "$pg_pid" 2>/dev/null || { cat "$dir/postgres.log" >&2; exit 1; }
    sleep 0.1
  done
  "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" ||
    { echo "postgres did not start" >&2; cat "$dir/postgres.log" >&2; exit 1; }
  pg_url="postgres://tagstream@127.0.0.1:$pg_port/postgres"
}

# start_redis DIR: redis-server (Debian's `redis-server`) with the shipped
# deploy/redis/tagstream-redis.conf (append-only file fsynced every second)
# on a free loopback port, its files in DIR/redis. Sets redis_pid,
# redis_port; the clean-up stops it.
start_redis() {
  local dir=$1
  mkdir -p "$dir/redis"
  redis_port=$(free_port)
  redis-server "$ROOT/deploy/redis/tagstream-redis.conf" --bind 127.0.0.1 --port "$redis_port" \
    --dir "$dir/redis" --daemonize no --logfile "$dir/redis/redis.log" &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 1 100); do
    [[ $(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null) == PONG ]] && return 0
    kill -0 "$redis_pid" 2>/dev/null || { cat "$dir/redis/redis.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "redis-server did not start" >&2
  exit 1
}

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

# median VALUE...: the median of the numbers.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

urlencode() { jq -rn --arg v "$1" '$v|@uri'; }

fmt_int() { printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

# start_influxdb DIR: InfluxDB 1.x (Debian's `influxdb`) with its own
# configuration: data, WAL and meta under DIR, loopback ports, no reporting,
# no auth, and a database `bench`; sets if_pid, if_url and influx_version,
# and adds the server to pids. Durability is InfluxDB's default:
# wal-fsync-delay = 0s, the WAL is fsynced before a write is answered.
start_influxdb() {
  local dir=$1 rpc http
  mkdir -p "$dir"
  rpc=$(free_port)
  http=$(free_port)
  while [[ $http == "$rpc" ]]; do http=$(free_port); done
  cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"

[meta]
  dir = "$dir/meta"

[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false

[monitor]
  # The _internal statistics database is off: it would write every 10 s.
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$http"
  auth-enabled = false
  log-enabled = false

[continuous_queries]
  enabled = false
CONF
  log "starting influxd on 127.0.0.1:$http"
  : >"$dir/influxdb.log"
  influxd -config "$dir/influxdb.conf" >>"$dir/influxdb.log" 2>&1 &
  if_pid=$!
  pids+=("$if_pid")
  if_url=http://127.0.0.1:$http
  wait_until_up influxd "$if_url/ping" "$if_pid" "$dir/influxdb.log"
  curl -sf -XPOST "$if_url/query" --data-urlencode 'q=CREATE DATABASE bench' >/dev/null
  influx_version=$(influxd version 2>/dev/null | head -1)
}

# influx_history_urls FROM TO BUCKET_S: the InfluxQL twins of tagstream's
# history queries of the `hist` measurement (bench ingest --measurement hist),
# mean/min/max/first/last/count grouped by BUCKET_S seconds aligned on FROM,
# for tag dev=d0 (if_q1, InfluxQL if_sql1) and for every dev (if_q10, if_sql10).
influx_history_urls() {
  local from=$1 to=$2 bucket=$3 sel range
  sel='SELECT mean(v), min(v), max(v), first(v), last(v), count(v) FROM hist'
  range="time >= ${from}s AND time < ${to}s"
  if_sql1="$sel WHERE dev = 'd0' AND $range GROUP BY time(${bucket}s, $((from % bucket))s)"
  if_sql10="$sel WHERE $range GROUP BY time(${bucket}s, $((from % bucket))s), dev"
  if_q1="$if_url/query?db=bench&epoch=ms&q=$(urlencode "$if_sql1")"
  if_q10="$if_url/query?db=bench&epoch=ms&q=$(urlencode "$if_sql10")"
}

# influx_count FILE: the samples an InfluxDB answer of influx_history_urls
# counted; influx_points FILE: its non-empty groups.
influx_count() { jq '[.results[0].series[]?.values[] | .[6] // 0] | add' "$1"; }
influx_points() { jq '[.results[0].series[]?.values[] | select(.[6] != null)] | length' "$1"; }
