#!/usr/bin/env bash
# The files Talaria's image ships, built into a directory (default
# build/runtime): the Dockerfile's runtime stage is this directory, and the
# testbed runs every Talaria process from it, so that what the tests pass is
# what the image holds. Production code only (tsconfig.runtime.json), the
# compiled eBPF objects (never built at run time), the P4Runtime protos and
# P4Info, and the production dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build/runtime}")
tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/build/bpf" "$tmp/p4"
npx tsc -p tsconfig.runtime.json --outDir "$tmp/dist"
chmod +x "$tmp/dist/cli/main.js"
node scripts/build-info.mjs "$tmp/dist/build-info.json"
[ -f build/bpf/host.bpf.o ] && [ -f build/bpf/switch.bpf.o ] || make -s -C bpf ../build/bpf/host.bpf.o ../build/bpf/switch.bpf.o
cp build/bpf/host.bpf.o build/bpf/switch.bpf.o "$tmp/build/bpf/"
(cd p4 && find proto -name '*.proto' -exec cp --parents {} "$tmp/p4/" \;)
cp p4/talaria.p4 p4/talaria.p4info.txtpb "$tmp/p4/"
cp package.json package-lock.json "$tmp/"
# Production dependencies: a copy of node_modules that npm prunes (offline:
# pruning only removes).
cp -a node_modules "$tmp/node_modules"
(cd "$tmp" && npm prune --omit=dev --offline --no-audit --no-fund --silent)
find "$tmp/node_modules" -mindepth 1 -maxdepth 1 -type d -empty -delete
rm -rf "$out"
mv "$tmp" "$out"
echo "$out"
