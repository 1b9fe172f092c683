#!/usr/bin/env bash
# Unpacks the P4 reference toolchain (p4c and BMv2, prebuilt; not in any
# package registry) into build/p4tools and installs the Debian libraries it
# loads. CI runs this when the tarball is there; the tests that need the
# tools find them through TALARIA_P4TOOLS and say so when they did not run.
#   scripts/p4tools.sh [TARBALL]    (default ../shared/p4tools/p4tools-linux-amd64.tar.xz)
set -euo pipefail
cd "$(dirname "$0")/.."
tarball=${1:-../shared/p4tools/p4tools-linux-amd64.tar.xz}
if [ ! -f "$tarball" ]; then
  echo "p4tools: $tarball not found: the BMv2 tests will not run" >&2
  exit 1
fi
DEBS=(libabsl20220623 libboost-filesystem1.74.0 libboost-iostreams1.74.0
      libboost-program-options1.74.0 libboost-thread1.74.0 libgc1 libgmp10
      libgrpc++1.51 libgrpc29 libpcap0.8 libprotobuf32 libre2-9 libc-ares2 cpp)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "p4tools: installing ${missing[*]}" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
if [ ! -x build/p4tools/bin/simple_switch_grpc ] || [ "$tarball" -nt build/p4tools/bin/simple_switch_grpc ]; then
  rm -rf build/p4tools && mkdir -p build/p4tools
  tar -xJf "$tarball" -C build/p4tools --strip-components=1
  touch build/p4tools/bin/*
fi
# The path the tests take as TALARIA_P4TOOLS.
echo "$PWD/build/p4tools"
