#!/usr/bin/env bash
# Runs every test suite and ends with one line: how many passed and failed.
set -uo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 300 2>&1 | tee "$log"
ctest_status=${PIPESTATUS[0]}

# ctest's own summary: "100% tests passed, 0 tests failed out of 57"
summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
failed=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$summary")
total=${total:-0}
failed=${failed:-0}
if [[ -z $summary && $ctest_status -ne 0 ]]; then failed=1; fi
passed=$((total - failed))

echo "make test: ${passed} passed, ${failed} failed"
[[ $ctest_status -eq 0 && $failed -eq 0 ]]
