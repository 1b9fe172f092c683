#!/usr/bin/env bash
# Installs everything Talaria needs on a fresh Debian 12 machine (as root) and
# builds it. Idempotent: a second run installs nothing and rebuilds quickly.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the eBPF toolchain, the kernel tools the testbed drives, and
# the real programs the tests and the benchmark run.
DEBS=(clang llvm libbpf-dev libbpf1 bpftool iproute2 iptables nftables conntrack
      ethtool nginx-light wrk iperf3 prometheus linux-libc-dev gcc-multilib python3-venv
      curl jq openssl socat)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts the services it installs; Talaria's tests start their own.
for svc in nginx prometheus; do
  if pgrep -x "$svc" >/dev/null; then service "$svc" stop >/dev/null 2>&1 || pkill -x "$svc" || true; fi
done

# npm packages, exactly as locked.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# Test tools from PyPI: the official P4Runtime client proves wire
# compatibility with something Talaria did not write.
if [ ! -x build/python/bin/python3 ] || ! PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python build/python/bin/python3 -c 'import p4.v1.p4runtime_pb2' 2>/dev/null; then
  python3 -m venv build/python
  build/python/bin/pip install -q --disable-pip-version-check p4runtime==1.6.0
fi

# Helm, built from source through the Go module proxy (no binary download),
# for the chart's lint and template tests.
if ! command -v helm >/dev/null; then
  GO=$(command -v go || echo /usr/local/go/bin/go)
  GOBIN=/usr/local/bin GOFLAGS=-buildvcs=false "$GO" install helm.sh/helm/v3/cmd/helm@v3.16.4
fi

# The real control plane and kube-proxy, built from the Go module proxy into a
# machine-wide cache (6-9 minutes the first time on 2 cores; a second
# clone reuses it), linked as build/kubernetes.
k8s=$(./scripts/build-kubernetes.sh)
mkdir -p build && ln -sfn "$k8s" build/kubernetes

# The TypeScript and the eBPF objects, then the image's file set
# (build/runtime), which the testbed runs Talaria from.
npm run --silent build
make -s -C bpf
./scripts/runtime-fileset.sh >/dev/null
