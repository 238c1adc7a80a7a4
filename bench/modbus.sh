#!/usr/bin/env bash
# Modbus TCP in (issue 16): registers read per second per connection, and
# poll jitter, with tagstream-modbus-bench: the connector (src/connect) and
# the tests' Modbus server (libmodbus's server side) in one process, on a
# loopback port.
#
#   bench/modbus.sh            5 rounds of 10 s per scenario (about 4 minutes)
#   bench/modbus.sh --short    2 rounds of 3 s (about 40 s)
#
# Scenarios, each round:
#   throughput 125    one read of 125 holding registers per poll, back to back
#   throughput 1000   1,000 registers: 8 reads per poll, back to back
#                     (each also runs libmodbus alone reading the same
#                     registers 125 at a time on one connection: "raw")
#   jitter 10 ms      100 registers polled every 10 ms: lateness of each poll
#   jitter 1 ms       100 registers polled every 1 ms
# and prints one Markdown table of the medians over the rounds.
#
# Options:
#   --short             2 rounds of 3 s
#   --rounds N          rounds (default 5; --short 2)
#   --seconds S         length of each measurement (default 10; --short 3)
#   --build-dir DIR     build (or reuse) tagstream-modbus-bench in DIR (default build)
#   --out FILE          also write the report (Markdown) to FILE
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
    --rounds) rounds=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --out) out_file=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "modbus.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if ((short)); then : "${rounds:=2}" "${seconds:=3}"; else : "${rounds:=5}" "${seconds:=10}"; fi
[[ $rounds =~ ^[1-9][0-9]?$ ]] || { echo "modbus.sh: --rounds must be 1..99" >&2; exit 2; }
[[ $seconds =~ ^[1-9][0-9]{0,2}$ ]] || { echo "modbus.sh: --seconds must be 1..999" >&2; exit 2; }

source "$ROOT/bench/common.sh"

log "building tagstream-modbus-bench in $build_dir"
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  ./scripts/install-deps.sh
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTAGSTREAM_TESTS=OFF >/dev/null
fi
cmake --build "$build_dir" -j "${JOBS:-2}" --target tagstream-modbus-bench >/dev/null
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
tool=$build_dir/tagstream-modbus-bench

work=$(mktemp -d /tmp/tagstream-modbus.XXXXXX)

for round in $(seq 1 "$rounds"); do
  log "round $round/$rounds"
  for n in 125 1000; do
    "$tool" throughput --registers "$n" --seconds "$seconds" | tee -a "$work/throughput-$n" >&2
  done
  for period in 0.01 0.001; do
    "$tool" jitter --registers 100 --period "$period" --seconds "$seconds" | tee -a "$work/jitter-$period" >&2
  done
done

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
# col FILE KEY: the KEY= values of every RESULT line of FILE, one a line.
col() { grep '^RESULT ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
med() { col "$1" "$2" | median; }

report() {
  echo "Modbus TCP, $rounds rounds of $seconds s, $build_type build, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| registers per poll | registers/s (connector) | reads/s | registers/s (libmodbus alone) | ratio |"
  echo "|---|---|---|---|---|"
  for n in 125 1000; do
    f=$work/throughput-$n
    printf '| %s | %.0f | %.0f | %.0f | %s |\n' "$n" "$(med "$f" registers_per_s)" "$(med "$f" reads_per_s)" \
      "$(med "$f" raw_registers_per_s)" "$(med "$f" ratio)"
  done
  echo
  echo "| poll period | polls per run | lateness p50 (µs) | p99 (µs) | max (µs) | skipped |"
  echo "|---|---|---|---|---|---|"
  for period in 0.01 0.001; do
    f=$work/jitter-$period
    printf '| %s ms | %s | %s | %s | %s | %s |\n' "$(awk -v p="$period" 'BEGIN{print p*1000}')" \
      "$(med "$f" polls)" "$(med "$f" p50_us)" "$(med "$f" p99_us)" "$(med "$f" max_us)" "$(med "$f" skipped)"
  done
}
if [[ -n $out_file ]]; then report | tee "$out_file"; else report; fi
