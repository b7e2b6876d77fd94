#!/usr/bin/env bash
# Builds the Node-API prebuilds that are committed in prebuilds/:
# linux-x64 with the host compiler and linux-arm64 with Debian's cross
# compiler (apt-get install g++-aarch64-linux-gnu). Both are stripped.
# One Node-API build serves every Node version >= 18.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -m)" != "x86_64" ]; then
  echo "scripts/prebuild.sh expects an x86_64 build host (this is $(uname -m))" >&2
  exit 1
fi
if ! command -v aarch64-linux-gnu-g++ >/dev/null; then
  echo "missing aarch64-linux-gnu-g++: apt-get install -y g++-aarch64-linux-gnu" >&2
  exit 1
fi

npx prebuildify --napi --strip --arch x64

CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ \
AR=aarch64-linux-gnu-ar \
  npx prebuildify --napi --strip --arch arm64 --strip-bin aarch64-linux-gnu-strip

# The cross build must really be an aarch64 object, not a mislabelled host build.
file -L prebuilds/linux-x64/*.node | tee /dev/stderr | grep -q 'ELF 64-bit LSB shared object, x86-64'
file -L prebuilds/linux-arm64/*.node | tee /dev/stderr | grep -q 'ELF 64-bit LSB shared object, ARM aarch64'
