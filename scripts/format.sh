#!/usr/bin/env bash
# Applies .clang-format to every C++ file of the repository (`make
# format`), or with --check lists the files that differ and exits 1 (`make
# test` runs it first). Debian 12's clang-format 14 is the reference version.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tracked files and new ones git does not ignore, so a file not yet added is
# checked too.
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h')
if [[ ${1:-} == --check ]]; then
  bad=()
  for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
  done
  if ((${#bad[@]} > 0)); then
    echo "format: ${#bad[@]} files differ from .clang-format (run 'make format'):"
    printf '  %s\n' "${bad[@]}"
    exit 1
  fi
  echo "format: ${#files[@]} files formatted"
  exit 0
fi
clang-format -i "${files[@]}"
