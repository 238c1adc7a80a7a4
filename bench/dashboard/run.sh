#!/usr/bin/env bash
# Dashboard load benchmark (see bench.mjs): starts `tagstream serve` with the
# simulator at 10 Hz on a free loopback port, runs the page in Debian's
# chromium for BENCH_SECONDS (default 20), prints the JSON result and
# exits non-zero when the main thread is busier than BENCH_MAX_BUSY (10) %.
#   bench/dashboard/run.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
bin="$PWD/$build/tagstream"
[[ -x $bin ]] || { echo "no $bin: make build"; exit 1; }
[[ -f web/dist/index.html ]] || make web || exit 1
if [[ ! -d tests/browser/node_modules/playwright-core ]]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
tmp=$(mktemp -d /tmp/tagstream-dashbench.XXXXXX)
"$bin" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" --simulator-rate 10 --heartbeat-interval 5 \
  --web-root "$PWD/web/dist" 2>"$tmp/server.log" >/dev/null &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=
for _ in $(seq 1 100); do
  port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$tmp/server.log" | head -1 | grep -oE '[0-9]+$')
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { cat "$tmp/server.log"; exit 1; }
TAGSTREAM_PORT=$port node bench/dashboard/bench.mjs
