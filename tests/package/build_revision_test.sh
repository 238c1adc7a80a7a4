#!/usr/bin/env bash
# cmake/build_revision.cmake, the source of the git revision in
# `tagstream --version`: run on throw-away trees. A commit changes the
# header, an edit marks it -dirty, an unchanged tree leaves the file alone
# (nothing recompiles), and a tree that is not its own checkout (a
# tarball, or one unpacked inside another repository) says "unknown".
#
# usage: tests/package/build_revision_test.sh SOURCE_DIR   (ctest: package.build_revision)
set -euo pipefail
script="$(cd "${1:?usage: build_revision_test.sh SOURCE_DIR}" && pwd)/cmake/build_revision.cmake"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# revision_of DIR: runs the script on DIR, prints the revision it wrote.
revision_of() {
  cmake -DSOURCE_DIR="$1" -DOUTPUT="$tmp/out/rev.h" -DGIT_EXECUTABLE="$(command -v git)" -P "$script"
  sed -nE 's/^#define TAGSTREAM_REVISION "(.*)"$/\1/p' "$tmp/out/rev.h"
}
git_in() { git -C "$1" -c user.name=test -c user.email=test@localhost "${@:2}"; }

# A tarball: no .git anywhere above it.
mkdir -p "$tmp/tarball"
[[ $(revision_of "$tmp/tarball") == unknown ]] || fail "a tree outside git: $(revision_of "$tmp/tarball")"
grep -qE '^#define TAGSTREAM_BUILD_DATE "[0-9]{4}-[0-9]{2}-[0-9]{2}"$' "$tmp/out/rev.h" || fail "no build date"

# A checkout.
repo="$tmp/repo"
mkdir -p "$repo"
git_in "$repo" init -q
echo one >"$repo/file"
git_in "$repo" add file
git_in "$repo" commit -qm one
first=$(git_in "$repo" rev-parse --short=10 HEAD)
[[ $(revision_of "$repo") == "$first" ]] || fail "after the first commit: $(revision_of "$repo") != $first"

# Unchanged: the header is not rewritten, so nothing that includes it rebuilds.
touch -d '2000-01-01' "$tmp/out/rev.h"
revision_of "$repo" >/dev/null
[[ $(stat -c %Y "$tmp/out/rev.h") == $(date -d '2000-01-01' +%s) ]] || fail "an unchanged tree rewrote the header"

# An uncommitted edit of a tracked file; untracked files do not count.
echo new >"$repo/untracked"
[[ $(revision_of "$repo") == "$first" ]] || fail "an untracked file made it dirty"
echo two >"$repo/file"
[[ $(revision_of "$repo") == "$first-dirty" ]] || fail "an edit: $(revision_of "$repo")"

# The next commit is the next build's revision.
git_in "$repo" commit -qam two
second=$(git_in "$repo" rev-parse --short=10 HEAD)
[[ $second != "$first" ]] || fail "the test's two commits have one sha"
[[ $(revision_of "$repo") == "$second" ]] || fail "after a commit: $(revision_of "$repo") != $second"

# A tree unpacked inside another repository is not that repository's commit.
mkdir -p "$repo/vendor/tagstream"
[[ $(revision_of "$repo/vendor/tagstream") == unknown ]] || fail "a tree inside another checkout"

echo "build revision test: passed"
