#!/usr/bin/env bash
# The main job: Talaria against kube-proxy (iptables, nftables) and the direct
# eBPF path on a testbed built from network namespaces, in one run. Prints the
# summary table and where the report is.
set -euo pipefail
cd "$(dirname "$0")/.."
talaria() { node --enable-source-maps dist/cli/main.js "$@"; }

# A testbed left over from an interrupted run would be in the way.
talaria testbed down >/dev/null 2>&1 || true
talaria bench --quick --out bench-results
