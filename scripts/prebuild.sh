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

# The request loop of reused docroot workers: plain C, loaded by PHP's
# FFI (not by Node), so it is built here rather than by node-gyp.
# -z nodelete: it must stay mapped when PHP's request shutdown unloads
# the FFI handle that loaded it (src-native/php-request-loop.c).
cc -O2 -Wall -Wextra -shared -fPIC -Wl,-z,nodelete \
  -o prebuilds/linux-x64/php-request-loop.so src-native/php-request-loop.c
strip prebuilds/linux-x64/php-request-loop.so
aarch64-linux-gnu-gcc -O2 -Wall -Wextra -shared -fPIC -Wl,-z,nodelete \
  -o prebuilds/linux-arm64/php-request-loop.so src-native/php-request-loop.c
aarch64-linux-gnu-strip prebuilds/linux-arm64/php-request-loop.so

# The cross build must really be an aarch64 object, not a mislabelled host build.
file -L prebuilds/linux-x64/*.node | tee /dev/stderr | grep -q 'ELF 64-bit LSB shared object, x86-64'
file -L prebuilds/linux-arm64/*.node | tee /dev/stderr | grep -q 'ELF 64-bit LSB shared object, ARM aarch64'
file -L prebuilds/linux-arm64/php-request-loop.so | grep -q 'ARM aarch64'
