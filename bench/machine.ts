// What the benchmark ran on, recorded with every result.
import { execFileSync } from 'node:child_process';
import { cpus, hostname, release, totalmem } from 'node:os';
import { kubernetesBinary } from '../testbed/controlplane/binaries.js';
import { nodeAddressing } from '../testbed/network/addressing.js';
import { stateDir } from '../testbed/state.js';
import { iptablesVariant, kubeProxyArgv, kubeProxyConfig } from '../testbed/kube-proxy.js';
import type { Baseline, Machine, Mode } from './results.js';

function versionOf(argv: string[], pattern: RegExp): string {
  try {
    const out = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    return out.match(pattern)?.[1] ?? out.split('\n')[0].trim();
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    return text.match(pattern)?.[1] ?? 'unknown';
  }
}

export function describeMachine(): Machine {
  return {
    hostname: hostname(),
    kernel: release(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    versions: {
      wrk: versionOf(['wrk', '--version'], /wrk (\S+)/),
      nginx: versionOf(['nginx', '-v'], /nginx\/(\S+)/),
      iperf3: versionOf(['iperf3', '--version'], /iperf (\S+)/),
      iptables: versionOf(['iptables', '--version'], /v(\S+)/),
      nft: versionOf(['nft', '--version'], /v(\S+)/),
      clang: versionOf(['clang', '--version'], /version (\S+)/),
    },
  };
}

/** The kube-proxy the baselines run, as the testbed starts it on node-1. */
export function describeKubeProxy(modes: readonly Mode[]): Baseline {
  const proxyModes = modes.filter((m): m is 'iptables' | 'nftables' => m === 'iptables' || m === 'nftables');
  const n = nodeAddressing(1);
  const node = { node: n.name, netns: n.netns, kubeconfig: `${stateDir()}/controlplane/kube-proxy.kubeconfig`, dir: stateDir() };
  return {
    version: versionOf([kubernetesBinary('kube-proxy'), '--version'], /Kubernetes (\S+)/),
    iptables: `iptables-${iptablesVariant()}`,
    argv: Object.fromEntries(proxyModes.map((mode) => [mode, kubeProxyArgv({ ...node, mode })])),
    config: Object.fromEntries(proxyModes.map((mode) => [mode, kubeProxyConfig({ ...node, mode })])),
  };
}
