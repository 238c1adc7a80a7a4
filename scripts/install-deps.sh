#!/usr/bin/env bash
# Installs the Debian 12 packages tagstream needs to build and test.
# Idempotent and quick when everything is already present: it only calls
# apt-get when a package is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates clang-format
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libpq-dev postgresql libtomlplusplus-dev libjwt-dev libssl-dev libfmt-dev zlib1g-dev liburing-dev
  libmodbus-dev libmosquitto-dev mosquitto libprotobuf-c-dev protobuf-c-compiler
  libhiredis-dev
  libgtest-dev
  clang libclang-rt-14-dev
  chromium
  # Packaging (make deb: dpkg-shlibdeps, fakeroot) and the tests of the
  # package and of the shipped nginx config (TLS certificates, HTTP/2 client).
  dpkg-dev fakeroot file nginx-light openssl curl
  # The cluster (make cluster, tests/integration/cluster_support.h): Redis
  # between the nodes (redis-cli comes with it); ss picks free ports.
  redis-server iproute2
)
# The dashboard (web/) and its browser tests need Node.js and npm: the
# machines here come with Node 20; elsewhere Debian's nodejs (18) does too.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
