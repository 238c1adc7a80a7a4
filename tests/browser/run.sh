#!/usr/bin/env bash
# End-to-end tests of the dashboard in a real browser (Debian's chromium,
# driven by playwright-core), against the real binary on loopback.
#
#   tests/browser/run.sh [BUILD_DIR]
#
# Starts `tagstream serve` on a free loopback port with a fresh data
# directory, runs tests/browser/tests.mjs against it (the authentication
# tests start a second server, with a token file, under the same temporary
# directory; the cluster test starts scripts/cluster.sh --porcelain: Redis,
# PostgreSQL, three nodes and nginx), stops everything on exit, keeps screenshots in
# BUILD_DIR/browser-artifacts/, and ends with one line:
# `browser tests: N passed, M failed`.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
build=${1:-build}
bin="$root/$build/tagstream"
artifacts="$root/$build/browser-artifacts"
chromium=${CHROMIUM:-/usr/bin/chromium}

fail_setup() {
  echo "browser tests: setup failed: $*"
  echo "browser tests: 0 passed, 1 failed"
  exit 1
}

[[ -x $bin ]] || fail_setup "no $bin (run make build)"
[[ -x $chromium ]] || fail_setup "no $chromium (scripts/install-deps.sh installs Debian's chromium)"
command -v node >/dev/null || fail_setup "no node"

# The dashboard the server serves (it reads web/dist once at start-up).
web_root=${WEB_ROOT:-$root/web/dist}
if [[ ! -f $web_root/index.html ]]; then
  (cd web && npm ci --no-audit --no-fund && npm run build) || fail_setup "web build failed"
fi

if [[ ! -d tests/browser/node_modules/playwright-core || tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) || fail_setup "npm ci in tests/browser failed"
fi

tmp=$(mktemp -d /tmp/tagstream-browser.XXXXXX)
pidfile="$tmp/server.pid"
auth_pidfile="$tmp/auth-server.pid"
cluster_pidfile="$tmp/cluster.pid"
server_log="$tmp/server.log"
rm -rf "$artifacts"
mkdir -p "$artifacts"

# stop_pidfile FILE [TENTHS]: SIGTERM, then SIGKILL after TENTHS/10 s (5 s).
stop_pidfile() {
  if [[ -f $1 ]]; then
    local pid
    pid=$(cat "$1")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 "${2:-50}"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
}

cleanup() {
  # The tests restart the server and keep its current pid in $pidfile; the
  # server with authentication (stopped by the tests) in $auth_pidfile.
  stop_pidfile "$pidfile"
  stop_pidfile "$auth_pidfile"
  # scripts/cluster.sh, if the runner died with it up: on SIGTERM it stops
  # nginx, the nodes, Redis and PostgreSQL and removes its directory.
  stop_pidfile "$cluster_pidfile" 900
  cp "$server_log" "$artifacts/server.log" 2>/dev/null
  cp "$tmp/auth/server.log" "$artifacts/auth-server.log" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_args=(serve --listen 127.0.0.1:0 --data-dir "$tmp/data" --heartbeat-interval 2 --simulator-rate 5 --web-root "$web_root")
"$bin" "${server_args[@]}" 2>>"$server_log" >/dev/null &
echo $! >"$pidfile"

port=
for _ in $(seq 1 100); do
  port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$server_log" | head -1 | grep -oE '[0-9]+$')
  [[ -n $port ]] && break
  kill -0 "$(cat "$pidfile")" 2>/dev/null || break
  sleep 0.1
done
[[ -n $port ]] || { cat "$server_log"; fail_setup "the server did not start"; }
echo "browser tests: server on 127.0.0.1:$port (pid $(cat "$pidfile")), chromium $("$chromium" --version 2>/dev/null | head -1)"

TAGSTREAM_BIN="$bin" TAGSTREAM_PORT="$port" TAGSTREAM_PIDFILE="$pidfile" TAGSTREAM_LOG="$server_log" \
  TAGSTREAM_DATA_DIR="$tmp/data" TAGSTREAM_WEB_ROOT="$web_root" TAGSTREAM_TMP="$tmp" TAGSTREAM_AUTH_PIDFILE="$auth_pidfile" TAGSTREAM_CLUSTER_PIDFILE="$cluster_pidfile" ARTIFACTS="$artifacts" CHROMIUM="$chromium" \
  node tests/browser/tests.mjs
rc=$?
exit $rc
