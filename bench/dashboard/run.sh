#!/usr/bin/env bash
# Dashboard at plant scale (see bench.mjs): for 1,000, 10,000 and 100,000
# tags (BENCH_TAGS), each a server of its own on a free loopback port with
# every tag written at 1 Hz, the dashboard in Debian's chromium for
# BENCH_SECONDS (default 20). Prints a JSON line per size and a summary;
# exits non-zero when a size misses a goal (main thread < BENCH_MAX_BUSY %,
# default 10; no long task over 100 ms after the first render; first render
# under 1 s; JS heap under 200 MB).
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
TAGSTREAM_BIN="$bin" TAGSTREAM_WEB_ROOT="$PWD/web/dist" node bench/dashboard/bench.mjs
