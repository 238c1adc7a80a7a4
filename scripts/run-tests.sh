#!/usr/bin/env bash
# Runs every test suite: the release build, then the same tests built with
# AddressSanitizer + UBSan and with ThreadSanitizer (set SANITIZERS=0 to skip
# those), a brief run of each fuzz target, the dashboard's unit tests and its
# browser tests. Ends with one line: how many passed and failed in all.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
jobs=$(nproc)

total=0
failed=0
status=0

# run_suite LABEL BUILD_DIR: runs ctest there and adds its counts.
run_suite() {
  local label=$1 dir=$2 log
  log=$(mktemp)
  echo "=== ${label}: ctest in ${dir}"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 300 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # ctest's own summary: "100% tests passed, 0 tests failed out of 57"
  local summary n f
  summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  rm -f "$log"
  if [[ -z $summary ]]; then
    echo "=== ${label}: no test summary (ctest exit ${rc})"
    failed=$((failed + 1))
    status=1
    return
  fi
  n=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
  f=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$summary")
  total=$((total + n))
  failed=$((failed + f))
  if [[ $rc -ne 0 || $f -ne 0 ]]; then status=1; fi
}

# build_sanitized NAME SANITIZER: configures and builds build-NAME.
build_sanitized() {
  local dir="build-$1"
  echo "=== building ${dir} (${2} sanitizer)"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTAGSTREAM_SANITIZER="$2" >/dev/null &&
    cmake --build "$dir" -j "$jobs"
}

# --- Formatting: one check, counted as one test.
echo "=== format: scripts/format.sh --check"
total=$((total + 1))
if ! scripts/format.sh --check; then
  failed=$((failed + 1))
  status=1
fi

run_suite "release" "$build"

if [[ ${SANITIZERS:-1} != 0 ]]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
  for pair in "asan:address" "tsan:thread"; do
    name=${pair%%:*}
    sanitizer=${pair#*:}
    if build_sanitized "$name" "$sanitizer"; then
      run_suite "$name" "build-$name"
    else
      echo "=== build-${name} failed to build"
      failed=$((failed + 1))
      status=1
    fi
  done
fi

# --- Fuzzing: each libFuzzer target of fuzz/ for a fixed number of inputs
# from its seeds (the same work however fast the machine; about 2 minutes of
# CPU in all), each counted as one test; scripts/fuzz.sh prints "fuzz: N passed, M
# failed". FUZZ_TESTS=0 skips them; `make fuzz` runs them long.
if [[ ${FUZZ_TESTS:-1} != 0 ]]; then
  flog=$(mktemp)
  scripts/fuzz.sh --brief 2>&1 | tee "$flog"
  frc=${PIPESTATUS[0]}
  fsummary=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed' "$flog" | tail -1)
  rm -f "$flog"
  if [[ -z $fsummary ]]; then
    echo "=== fuzz: no test summary (exit ${frc})"
    failed=$((failed + 1))
    status=1
  else
    fp=$(sed -E 's/^fuzz: ([0-9]+) passed.*/\1/' <<<"$fsummary")
    ff=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$fsummary")
    total=$((total + fp + ff))
    failed=$((failed + ff))
    if [[ $frc -ne 0 || $ff -ne 0 ]]; then status=1; fi
  fi
fi
# --- end of fuzzing

# --- Web unit tests: the dashboard's pure modules under Vitest (web/, npm
# test); its summary line is "Tests  N passed (T)" or "Tests  F failed | N
# passed (T)". make build has run npm ci there; a tree without it (or with a
# newer lock) gets one first. WEB_UNIT_TESTS=0 skips them.
if [[ ${WEB_UNIT_TESTS:-1} != 0 ]]; then
  echo "=== web unit: npm test in web/"
  wlog=$(mktemp)
  {
    if [[ ! -x web/node_modules/.bin/vitest || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
      (cd web && npm ci --no-audit --no-fund --loglevel=error)
    fi &&
      (cd web && NO_COLOR=1 npm test)
  } 2>&1 | tee "$wlog"
  wrc=${PIPESTATUS[0]}
  wsummary=$(sed -E 's/\x1b\[[0-9;]*m//g' "$wlog" | grep -E '^ *Tests +.*\([0-9]+\)' | tail -1)
  rm -f "$wlog"
  if [[ -z $wsummary ]]; then
    echo "=== web unit: no test summary (exit ${wrc})"
    failed=$((failed + 1))
    status=1
  else
    wp=0 wf=0
    if [[ $wsummary =~ ([0-9]+)\ passed ]]; then wp=${BASH_REMATCH[1]}; fi
    if [[ $wsummary =~ ([0-9]+)\ failed ]]; then wf=${BASH_REMATCH[1]}; fi
    total=$((total + wp + wf))
    failed=$((failed + wf))
    if [[ $wrc -ne 0 || $wf -ne 0 ]]; then status=1; fi
  fi
fi
# --- end of web unit tests

# --- Browser tests: the dashboard in Debian's chromium (playwright-core)
# against the release binary; tests/browser/run.sh prints
# "browser tests: N passed, M failed". BROWSER_TESTS=0 skips them.
if [[ ${BROWSER_TESTS:-1} != 0 ]]; then
  echo "=== browser: tests/browser/run.sh ${build}"
  blog=$(mktemp)
  tests/browser/run.sh "$build" 2>&1 | tee "$blog"
  brc=${PIPESTATUS[0]}
  bsummary=$(grep -E '^browser tests: [0-9]+ passed, [0-9]+ failed' "$blog" | tail -1)
  rm -f "$blog"
  if [[ -z $bsummary ]]; then
    echo "=== browser: no test summary (exit ${brc})"
    failed=$((failed + 1))
    status=1
  else
    bp=$(sed -E 's/^browser tests: ([0-9]+) passed.*/\1/' <<<"$bsummary")
    bf=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$bsummary")
    total=$((total + bp + bf))
    failed=$((failed + bf))
    if [[ $brc -ne 0 || $bf -ne 0 ]]; then status=1; fi
  fi
fi
# --- end of browser tests

passed=$((total - failed))
if ((passed < 0)); then passed=0; fi
echo "make test: ${passed} passed, ${failed} failed"
exit $status
