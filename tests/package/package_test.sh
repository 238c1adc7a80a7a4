#!/usr/bin/env bash
# The Debian package, end to end: built by CPack from this build tree into a
# temp directory, its control data and file list checked, unpacked into a
# temp root (dpkg -x: nothing is installed on this machine), and the binary
# it holds run with the config it holds. --version must match the build's,
# the dashboard must come from the package's share directory, and a stream
# must deliver the simulator's values.
#
# usage: tests/package/package_test.sh BUILD_DIR   (ctest runs it: package.deb)
set -euo pipefail
build=$(cd "${1:?usage: package_test.sh BUILD_DIR}" && pwd)
tmp=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# wait_until SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# --- Build the package.
if ! cpack --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log" >&2
  fail "cpack failed"
fi
debs=("$tmp"/out/tagstream_*.deb)
[[ -f ${debs[0]} ]] || fail "no tagstream_*.deb in $tmp/out: $(ls "$tmp/out")"
deb=${debs[0]}
echo "built $(basename "$deb")"

# --- Control data: the binary's version, computed dependencies, conffile,
# maintainer scripts.
build_line=$("$build/tagstream" --version)
version=$(sed -E 's/^tagstream ([^ ]+) .*/\1/' <<<"$build_line")
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "package version $(dpkg-deb -f "$deb" Version) != $version"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in adduser libsqlite3 libssl libc6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/tagstream/tagstream.toml "$tmp/control/conffiles" || fail "the config is not a conffile"
grep -q "adduser --system" "$tmp/control/postinst" || fail "postinst does not create the system user"
for script in postinst prerm postrm; do
  [[ -x $tmp/control/$script ]] || fail "$script is not executable"
  sh -n "$tmp/control/$script" || fail "$script does not parse"
done

# --- The files.
dpkg-deb -c "$deb" | awk '{print $6}' >"$tmp/files"
for f in ./usr/bin/tagstream ./usr/share/tagstream/web/index.html ./usr/lib/systemd/system/tagstream.service \
  ./etc/tagstream/tagstream.toml ./usr/share/doc/tagstream/examples/tagstream.conf \
  ./usr/share/doc/tagstream/examples/tagstream-cluster.example.toml \
  ./usr/share/doc/tagstream/examples/tagstream-redis.conf; do
  grep -qx -- "$f" "$tmp/files" || fail "$f is not in the package"
done
grep -q '^\./usr/share/tagstream/web/assets/.*\.js$' "$tmp/files" || fail "the dashboard's scripts are not in the package"

root="$tmp/root"
dpkg-deb -x "$deb" "$root"
unit="$root/usr/lib/systemd/system/tagstream.service"
grep -qx 'ExecStart=/usr/bin/tagstream serve --config /etc/tagstream/tagstream.toml' "$unit" ||
  fail "the unit does not start the packaged binary with the packaged config: $(grep ExecStart "$unit")"
for line in User=tagstream ProtectSystem=strict NoNewPrivileges=yes Restart=on-failure \
  'ReadWritePaths=/var/lib/tagstream /var/log/tagstream'; do
  grep -qx -- "$line" "$unit" || fail "the unit lacks $line"
done
# No directive systemd does not know (a typo would be ignored, silently
# dropping a hardening line); the binary is in the temp root, not in /usr/bin.
if command -v systemd-analyze >/dev/null; then
  cp "$unit" "$tmp/tagstream.service"
  complaints=$(systemd-analyze verify "$tmp/tagstream.service" 2>&1 | grep -v 'Command /usr/bin/tagstream is not executable' || true)
  [[ -z $complaints ]] || fail "systemd-analyze verify: $complaints"
fi
file "$root/usr/bin/tagstream" | grep -q 'stripped' || fail "unexpected binary: $(file "$root/usr/bin/tagstream")"

# --- Run what was installed.
installed_line=$("$root/usr/bin/tagstream" --version)
[[ $installed_line == "$build_line" ]] || fail "installed --version '$installed_line' != build's '$build_line'"
# A mark only the installed copy of the dashboard has.
mark="packaged-dashboard-$$"
echo "<!-- $mark -->" >>"$root/usr/share/tagstream/web/index.html"

"$root/usr/bin/tagstream" serve --config "$root/etc/tagstream/tagstream.toml" --listen 127.0.0.1:0 \
  --data-dir "$tmp/data" --node-id packaged --simulator-rate 20 2>"$tmp/server.log" &
server_pid=$!
listening() { grep -qE 'listening on 127\.0\.0\.1:[0-9]+' "$tmp/server.log"; }
wait_until 60 listening || {
  cat "$tmp/server.log" >&2
  fail "the installed binary did not start"
}
port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$tmp/server.log" | head -1 | sed -E 's/.*://')
grep -q "dashboard from $root/usr/share/tagstream/web" "$tmp/server.log" ||
  fail "the dashboard was not taken from the package: $(grep -i dashboard "$tmp/server.log")"

curl -sS --max-time 10 "http://127.0.0.1:$port/" | grep -q "$mark" || fail "/ is not the packaged dashboard"
healthz=$(curl -sS --max-time 10 "http://127.0.0.1:$port/healthz")
grep -q "\"version\":\"$version\"" <<<"$healthz" || fail "/healthz: $healthz"
grep -q '"node":"packaged"' <<<"$healthz" || fail "/healthz: $healthz"

# A stream: the simulator's values arrive as data events.
{ curl -sSN --max-time 30 "http://127.0.0.1:$port/api/sse/stream?tags[]=boiler1.*&interval=raw" || true; } \
  >"$tmp/stream" &
curl_pid=$!
has_data() { grep -q '^event: data' "$tmp/stream" && grep -q '"v":' "$tmp/stream"; }
wait_until 30 has_data || fail "no data event on the stream: $(head -c 500 "$tmp/stream")"
kill "$curl_pid" 2>/dev/null || true
wait "$curl_pid" 2>/dev/null || true

kill -TERM "$server_pid"
wait "$server_pid" || fail "the installed binary did not exit cleanly on SIGTERM"
server_pid=""
echo "package test: passed ($(basename "$deb"), $(wc -l <"$tmp/files") entries)"
