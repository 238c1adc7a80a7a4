#!/usr/bin/env bash
# make cluster: a whole tagstream cluster on this machine, for a first look.
#
# Starts, all on 127.0.0.1 and in one temporary directory:
#   - redis-server with deploy/redis/tagstream-redis.conf (AOF on),
#   - PostgreSQL: initdb in the temporary directory (not the system
#     cluster; as `nobody` when run as root: PostgreSQL refuses root),
#   - three tagstream nodes, node-a (with the simulator), node-b, node-c,
#     each with --store postgres://... --cluster redis://... --node-id,
#   - nginx in front of them on PORT (default 8080) with
#     deploy/nginx/tagstream.conf, its TLS part left out (plain HTTP here;
#     the nginx test runs the TLS part),
# prints the URL and what runs where, and on Ctrl-C (or SIGTERM) stops it
# all and removes the directory. No terminal needed: nothing reads stdin.
#
# usage: scripts/cluster.sh [--build-dir DIR] [--check] [--standalone-nodes]
#   --build-dir DIR     where the built tagstream is (default: build)
#   --check             start everything, check that /healthz through nginx
#                       answers from every node and that a value written
#                       through nginx comes back on /api/tags (on every node
#                       with --cluster), stop, exit 0 or 1 (a ctest)
#   --standalone-nodes  start the nodes without --cluster: three nodes that
#                       share only PostgreSQL
# PORT=N picks nginx's port (default 8080; with --check a free one).
# `make cluster` installs what is missing and builds first (as `make run`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$root/build"
check=0
standalone=0
while (($#)); do
  case "$1" in
    --build-dir)
      build_dir="$(cd "${2:?--build-dir needs a directory}" && pwd)"
      shift
      ;;
    --check) check=1 ;;
    --standalone-nodes) standalone=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "cluster: unknown option $1 (see --help)" >&2
      exit 2
      ;;
  esac
  shift
done

die() {
  echo "cluster: $*" >&2
  exit 1
}

bin="$build_dir/tagstream"
pg_bin="${TAGSTREAM_PG_BIN:-/usr/lib/postgresql/15/bin}"
[[ -x $bin ]] || die "no $bin: \`make cluster\` builds it (or give --build-dir)"
for tool in redis-server redis-cli nginx curl ss; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] ||
    die "$tool is missing: run scripts/install-deps.sh"
done
for tool in initdb pg_ctl createdb; do
  [[ -x $pg_bin/$tool ]] || die "$pg_bin/$tool is missing (Debian's postgresql package: scripts/install-deps.sh)"
done
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
if ((!standalone)) && ! "$bin" serve --help 2>&1 | grep -q -- '--cluster'; then
  die "$bin has no --cluster option; --standalone-nodes starts the nodes without it"
fi

# ---------------------------------------------------------------- cleanup
tmp="$(mktemp -d "${TMPDIR:-/tmp}/tagstream-cluster.XXXXXX")"
chmod 755 "$tmp"
declare -A pid_of=() # name -> pid of what this script started in the background
pg_started=0
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local name
  # In reverse: nginx, the nodes, then Redis and PostgreSQL under them.
  for name in nginx node-c node-b node-a redis; do
    [[ -n ${pid_of[$name]:-} ]] && kill -TERM "${pid_of[$name]}" 2>/dev/null || true
  done
  for name in nginx node-c node-b node-a redis; do
    local pid="${pid_of[$name]:-}"
    [[ -n $pid ]] || continue
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if ((pg_started)); then
    as_pg "$pg_bin/pg_ctl" -D "$tmp/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
  echo "cluster: stopped, $tmp removed"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a PostgreSQL program as the server's user: `nobody` when root.
as_pg() {
  if ((EUID == 0)); then
    (cd "$tmp" && runuser -u nobody -- "$@")
  else
    (cd "$tmp" && "$@")
  fi
}

# pick_port VAR: a loopback port no socket uses now and not picked before.
picked=" "
pick_port() {
  local in_use port
  in_use=" $(ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u | tr '\n' ' ') "
  while true; do
    port=$((20000 + RANDOM % 30000))
    [[ $in_use == *" $port "* || $picked == *" $port "* ]] || break
  done
  picked+="$port "
  printf -v "$1" '%s' "$port"
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local what="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# alive NAME: whether what was started as NAME still runs.
alive() { kill -0 "${pid_of[$1]}" 2>/dev/null; }
log_of() {
  case "$1" in
    redis) echo "$tmp/redis/redis.log" ;;
    nginx) echo "$tmp/nginx/error.log" ;;
    *) echo "$tmp/$1.log" ;;
  esac
}

if [[ -n ${PORT:-} ]]; then
  nginx_port="$PORT"
  picked+="$PORT "
elif ((check)); then
  pick_port nginx_port
else
  nginx_port=8080
fi
[[ $nginx_port =~ ^[0-9]+$ ]] || die "PORT must be a number"
if ss -Htln "sport = :$nginx_port" | grep -q .; then
  die "port $nginx_port is in use: PORT=... picks another"
fi

# ------------------------------------------------------------------ Redis
pick_port redis_port
mkdir -p "$tmp/redis"
cat >"$tmp/redis/redis.conf" <<EOF
include $root/deploy/redis/tagstream-redis.conf
bind 127.0.0.1
port $redis_port
dir $tmp/redis
daemonize no
supervised no
logfile ""
EOF
redis-server "$tmp/redis/redis.conf" >"$tmp/redis/redis.log" 2>&1 </dev/null &
pid_of[redis]=$!
redis_ping() { alive redis && [[ $(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null) == PONG ]]; }
wait_for redis 30 redis_ping || die "redis-server did not start: $(tail -20 "$tmp/redis/redis.log")"
redis_url="redis://127.0.0.1:$redis_port"

# ------------------------------------------------------------- PostgreSQL
pick_port pg_port
mkdir -p "$tmp/pg"
((EUID == 0)) && chown nobody: "$tmp/pg"
as_pg "$pg_bin/initdb" -D "$tmp/pg/data" -U tagstream -A trust -E UTF8 --no-sync --no-instructions \
  >"$tmp/pg/initdb.log" 2>&1 || die "initdb failed: $(tail -20 "$tmp/pg/initdb.log")"
pg_started=1
as_pg "$pg_bin/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/postgres.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $pg_port -k $tmp/pg" start >/dev/null ||
  die "postgres did not start: $(tail -20 "$tmp/pg/postgres.log")"
"$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U tagstream tagstream ||
  die "createdb failed"
store_url="postgres://tagstream@127.0.0.1:$pg_port/tagstream"

# ------------------------------------------------------------------ nodes
nodes=(node-a node-b node-c)
declare -A node_port=()
for node in "${nodes[@]}"; do
  pick_port "node_port[$node]"
  args=(serve --listen "127.0.0.1:${node_port[$node]}" --node-id "$node" --data-dir "$tmp/$node"
    --store "$store_url" --trusted-proxies 127.0.0.1)
  ((standalone)) || args+=(--cluster "$redis_url")
  if [[ $node == node-a ]]; then args+=(--simulator); else args+=(--no-simulator); fi
  mkdir -p "$tmp/$node"
  "$bin" "${args[@]}" >"$tmp/$node.log" 2>&1 </dev/null &
  pid_of[$node]=$!
done
node_healthy() { alive "$1" && curl -fsS --max-time 2 "http://127.0.0.1:${node_port[$1]}/healthz"; }
for node in "${nodes[@]}"; do
  wait_for "$node" 60 node_healthy "$node" || die "$node did not start: $(tail -20 "$tmp/$node.log")"
done

# ------------------------------------------------------------------ nginx
# The shipped site: its upstream lines become the three nodes (shipped
# parameters kept), the HTTPS server listens in plain HTTP on the port, its
# certificate lines and the port-80 redirect server are left out.
mkdir -p "$tmp/nginx"
awk -v ports="${node_port[node-a]} ${node_port[node-b]} ${node_port[node-c]}" -v listen="$nginx_port" '
  function braces(line,   opens, closes) {
    opens = gsub(/\{/, "{", line); closes = gsub(/\}/, "}", line); return opens - closes
  }
  /^[ \t]*server 10\.0\.0\.[0-9]+:8080/ {
    if (!upstream_done) {
      n = split(ports, p, " ")
      for (i = 1; i <= n; ++i) { line = $0; sub(/10\.0\.0\.[0-9]+:8080/, "127.0.0.1:" p[i], line); print line }
      upstream_done = 1
    }
    next
  }
  depth == 0 && /^server[ \t]*\{/ { block = ""; in_server = 1 }
  in_server {
    line = $0
    if (line ~ /^[ \t]*ssl_/) next
    sub(/listen 443 ssl http2;/, "listen 127.0.0.1:" listen ";", line)
    block = block line "\n"
    depth += braces($0)
    if (depth == 0) { in_server = 0; if (block !~ /listen 80;/) printf "%s", block }
    next
  }
  { print }
' "$root/deploy/nginx/tagstream.conf" >"$tmp/nginx/tagstream.conf"
servers=$(grep -c 'server 127\.0\.0\.1:' "$tmp/nginx/tagstream.conf" || true)
grep -q "listen 127.0.0.1:$nginx_port;" "$tmp/nginx/tagstream.conf" && ((servers == 3)) ||
  die "deploy/nginx/tagstream.conf no longer has the shape scripts/cluster.sh rewrites: see $tmp/nginx/tagstream.conf"
{
  echo "pid $tmp/nginx/nginx.pid;"
  echo "error_log $tmp/nginx/error.log;"
  echo "events { worker_connections 1024; }"
  echo "http {"
  echo "  access_log $tmp/nginx/access.log;"
  for temp in client_body proxy fastcgi uwsgi scgi; do echo "  ${temp}_temp_path $tmp/nginx/$temp;"; done
  echo "  include $tmp/nginx/tagstream.conf;"
  echo "}"
} >"$tmp/nginx/nginx.conf"
# One process (master_process off): nothing forks away from this script.
"$nginx_bin" -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" \
  -g 'daemon off; master_process off;' >"$tmp/nginx/nginx.out" 2>&1 </dev/null &
pid_of[nginx]=$!
url="http://127.0.0.1:$nginx_port"
nginx_up() { alive nginx && curl -fsS --max-time 2 "$url/healthz"; }
wait_for nginx 30 nginx_up ||
  die "nginx did not start: $(cat "$tmp/nginx/nginx.out"; tail -20 "$tmp/nginx/error.log")"

cat <<EOF

tagstream cluster: $url/
  nginx       127.0.0.1:$nginx_port  -> node-a, node-b, node-c  ($tmp/nginx/error.log)
  node-a      127.0.0.1:${node_port[node-a]}  simulator on          ($tmp/node-a.log)
  node-b      127.0.0.1:${node_port[node-b]}                        ($tmp/node-b.log)
  node-c      127.0.0.1:${node_port[node-c]}                        ($tmp/node-c.log)
  redis       $redis_url  AOF in $tmp/redis  ($tmp/redis/redis.log)
  postgresql  $store_url  ($tmp/pg/postgres.log)
$( ((standalone)) && echo "  (--standalone-nodes: the nodes do not use Redis)")
EOF

if ((!check)); then
  echo "Ctrl-C stops everything and removes $tmp."
  # Until Ctrl-C, or until one of them exits on its own.
  wait -n "${pid_of[@]}" || true
  for name in "${!pid_of[@]}"; do
    alive "$name" || die "$name exited; the end of its log:
$(tail -n 20 "$(log_of "$name")")"
  done
  exit 0
fi

# ------------------------------------------------------------------ check
# Every node answers through nginx (least_conn spreads sequential requests).
seen=" "
for _ in $(seq 60); do
  body=$(curl -fsS --max-time 5 "$url/healthz") || die "/healthz through nginx failed"
  node=$(sed -nE 's/.*"node":"([^"]*)".*/\1/p' <<<"$body")
  [[ $seen == *" $node "* ]] || seen+="$node "
  [[ $seen == *" node-a "* && $seen == *" node-b "* && $seen == *" node-c "* ]] && break
done
[[ $seen == *" node-a "* && $seen == *" node-b "* && $seen == *" node-c "* ]] ||
  die "/healthz through nginx answered only from:$seen"
echo "check: /healthz through nginx answers from$seen"

# A value written through nginx comes back on /api/tags: through nginx, and
# with --cluster from every node itself.
value="$RANDOM.5"
status=$(curl -sS -o "$tmp/write.out" -w '%{http_code}' --max-time 10 -X POST \
  --data-binary "clustercheck value=$value $(date +%s%N)" "$url/write?precision=ns")
[[ $status == 204 ]] || die "the write through nginx answered $status: $(cat "$tmp/write.out")"
has_value() {
  curl -fsS --max-time 5 "$1/api/tags?q=clustercheck.value" | grep -q "\"value\":$value[,}]"
}
wait_for "the value through nginx" 30 has_value "$url" ||
  die "the value written through nginx never came back on $url/api/tags"
echo "check: clustercheck.value=$value came back on /api/tags through nginx"
if ((!standalone)); then
  for node in "${nodes[@]}"; do
    wait_for "$node" 30 has_value "http://127.0.0.1:${node_port[$node]}" ||
      die "$node never listed clustercheck.value=$value on /api/tags"
  done
  echo "check: and on node-a, node-b and node-c"
fi
for name in "${!pid_of[@]}"; do alive "$name" || die "$name exited during the check"; done
echo "check: ok"
