#!/usr/bin/env bash
# `make cluster` (scripts/cluster.sh) end to end, without a terminal:
#   1. --check: Redis, PostgreSQL, three nodes and nginx start, /healthz
#      through nginx answers from every node, a value written through nginx
#      comes back on /api/tags (on every node), and all of it stops;
#   2. the ordinary mode, stopped by SIGTERM: it serves until then.
# Each time nothing is left behind: the temporary directory is gone and no
# process listens on any port the script printed.
#
# usage: tests/package/cluster_test.sh BUILD_DIR [SCRIPT_OPTION...]
#        (ctest: package.make_cluster)
set -euo pipefail
build="$(cd "${1:?usage: cluster_test.sh BUILD_DIR [SCRIPT_OPTION...]}" && pwd)"
shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mktemp)"
pid=""
finish() {
  [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -f "$out"
}
trap finish EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "---- scripts/cluster.sh said ----" >&2
  cat "$out" >&2
  exit 1
}

# nothing_left: the directory and every 127.0.0.1 port the script printed.
nothing_left() {
  local dir port
  dir=$(grep -oE '/[^ ()]*/tagstream-cluster\.[A-Za-z0-9]+' "$out" | head -1)
  [[ -n $dir ]] || fail "the script printed no temporary directory"
  [[ ! -e $dir ]] || fail "$dir is left behind"
  ! pgrep -f -- "$dir" >/dev/null || fail "processes of $dir still run: $(pgrep -af -- "$dir")"
  for port in $(grep -oE '127\.0\.0\.1:[0-9]+' "$out" | cut -d: -f2 | sort -u); do
    [[ -z $(ss -Htln "sport = :$port") ]] || fail "something still listens on port $port"
  done
}

# 1. --check
"$root/scripts/cluster.sh" --build-dir "$build" --check "$@" </dev/null >"$out" 2>&1 ||
  fail "cluster.sh --check failed"
grep -q '^check: ok$' "$out" || fail "no \"check: ok\""
nothing_left

# 2. Serving until SIGTERM, on a port no socket uses now.
while true; do
  port=$((20000 + RANDOM % 30000))
  [[ -z $(ss -Htan "sport = :$port") ]] && break
done
PORT=$port "$root/scripts/cluster.sh" --build-dir "$build" "$@" </dev/null >"$out" 2>&1 &
pid=$!
for _ in $(seq 1200); do
  grep -q 'Ctrl-C stops everything' "$out" && break
  kill -0 "$pid" 2>/dev/null || fail "cluster.sh exited before it was up"
  sleep 0.1
done
grep -q 'Ctrl-C stops everything' "$out" || fail "not up within 120 s"
healthz=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/healthz") || fail "/healthz through nginx on $port"
[[ $healthz == *'"node":"node-'* ]] || fail "/healthz through nginx: $healthz"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
((status == 143)) || fail "cluster.sh exited $status on SIGTERM (expected 143)"
grep -q '^cluster: stopped' "$out" || fail "no \"cluster: stopped\""
nothing_left
echo "ok"
