#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ in build-fuzz (clang, ASan + UBSan)
# and runs each one, one after the other:
#
#   scripts/fuzz.sh                  every target for $FUZZ_SECONDS (default 600) s
#   scripts/fuzz.sh --brief          every target for a fixed number of inputs
#                                    from the seeds, about 20 s of CPU each
#                                    (what `make test` runs: the same work
#                                    however fast the machine is)
#   scripts/fuzz.sh --runs N         every target for exactly N inputs
#   scripts/fuzz.sh TARGET...        only those (e.g. gzip_fuzz)
#
# A timed run keeps what it finds in build-fuzz/corpus/TARGET, so the next
# one starts where it stopped; a --runs run starts from the seeds each time,
# in a temporary directory. The seeds in fuzz/corpus/ are never written to.
# Crashes, timeouts and leaks land in build-fuzz/crashes/TARGET/; replay one
# with `build-fuzz/fuzz/TARGET FILE`. Prints per target its executions and
# crashes, then "fuzz: N passed, M failed"; exits non-zero on any crash.
set -uo pipefail
cd "$(dirname "$0")/.."

dir=build-fuzz
all_targets=(line_protocol_fuzz json_samples_fuzz gzip_fuzz time_parse_fuzz stream_query_fuzz sse_parser_fuzz)
# --brief: inputs per target, for about 20 s of CPU each (measured from the
# seeds with -seed=1; the targets differ tenfold in speed). A machine shared
# with other builds takes longer in wall time, never less work.
declare -A brief_runs=(
  [line_protocol_fuzz]=450000 [json_samples_fuzz]=2000000 [gzip_fuzz]=250000
  [time_parse_fuzz]=3000000 [stream_query_fuzz]=600000 [sse_parser_fuzz]=450000
)
brief=0
runs=""
targets=()
while (($#)); do
  case $1 in
    --brief)
      brief=1
      shift
      ;;
    --runs)
      runs=$2
      shift 2
      ;;
    -h | --help)
      sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      targets+=("$1")
      shift
      ;;
  esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")
seconds=${FUZZ_SECONDS:-600}

echo "=== fuzz: building ${dir} (clang, libFuzzer + ASan + UBSan)"
if ! CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTAGSTREAM_FUZZ=ON -DTAGSTREAM_TESTS=OFF -DTAGSTREAM_BENCH=OFF >/dev/null ||
  ! cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}"; then
  echo "=== fuzz: ${dir} failed to build"
  echo "fuzz: 0 passed, ${#targets[@]} failed"
  exit 1
fi

# Sanitizer reports end the run (libFuzzer then saves the input); leaks count.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
summary=()
for target in "${targets[@]}"; do
  crashes="$dir/crashes/$target"
  mkdir -p "$crashes"
  args=(-print_final_stats=1 -timeout=10 -artifact_prefix="$crashes/")
  if [[ -f fuzz/$target.dict ]]; then args+=(-dict="fuzz/$target.dict"); fi
  target_runs=$runs
  if ((brief)) && [[ -z $target_runs ]]; then target_runs=${brief_runs[$target]:-100000}; fi
  if [[ -n $target_runs ]]; then
    corpus=$(mktemp -d)
    args+=(-runs="$target_runs" -seed=1)
    what="${target_runs} runs"
  else
    corpus="$dir/corpus/$target"
    mkdir -p "$corpus"
    args+=(-max_total_time="$seconds")
    what="${seconds} s"
  fi
  echo "=== fuzz: ${target} (${what})"
  log=$(mktemp)
  before=$(find "$crashes" -type f | wc -l)
  start=$(date +%s)
  # CPU seconds as well as wall seconds: on a shared machine they differ a lot.
  TIMEFORMAT='%U %S'
  cpu_log=$(mktemp)
  { time "$dir/fuzz/$target" "${args[@]}" "$corpus" "fuzz/corpus/$target" >"$log" 2>&1; } 2>"$cpu_log"
  rc=$?
  elapsed=$(($(date +%s) - start))
  cpu=$(awk '{ printf "%.1f", $1 + $2 }' "$cpu_log")
  rm -f "$cpu_log"
  if [[ -n $target_runs ]]; then rm -rf "$corpus"; fi
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  found=$(($(find "$crashes" -type f | wc -l) - before))
  if [[ $rc -ne 0 && $found -eq 0 ]]; then found=1; fi  # died without saving an input
  execs=${execs:-0}
  line="${target}: ${execs} executions in ${elapsed} s, ${cpu} s of CPU"
  line+=" ($((execs / (elapsed > 0 ? elapsed : 1)))/s), ${found} crashes"
  if ((found == 0 && rc == 0)); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    # The report: the sanitizer's or the invariant's message and the stack.
    grep -E -A 30 'ERROR: |runtime error|invariant violated' "$log" | head -60
    line+=" in ${crashes}/ (newest: $(ls -t "$crashes" | head -1))"
  fi
  rm -f "$log"
  echo "=== fuzz: ${line}"
  summary+=("$line")
done

echo "=== fuzz summary"
printf '  %s\n' "${summary[@]}"
echo "fuzz: ${passed} passed, ${failed} failed"
((failed == 0))
