// The baselines are the real kube-proxy: one per node, inside the node's
// network namespace, in iptables or nftables mode, with the testbed's cluster
// CIDR and the node's name, reaching the API server through the node's relay.
//
// iptables mode calls the `iptables` it finds on PATH. Debian's default is
// iptables-nft, which on this kernel took minutes to restore 10,000 Services;
// kube-proxy gets iptables-legacy through a PATH directory of links instead
// (TALARIA_TESTBED_IPTABLES=nft keeps Debian's default).
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { kubernetesBinary } from './controlplane/binaries.js';
import { CLUSTER_CIDR } from './controlplane/control-plane.js';
import { inNodeNetns } from './node-processes.js';
import { spawnTracked } from './processes.js';
import type { TrackedProcess } from './state.js';

export type ProxyMode = 'iptables' | 'nftables';

/** Where kube-proxy serves inside the node namespace (its defaults' ports). */
export const KUBE_PROXY_HEALTHZ = '127.0.0.1:10256';
export const KUBE_PROXY_METRICS = '127.0.0.1:10249';

const IPTABLES_TOOLS = ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore'];

/** Which iptables kube-proxy runs: legacy unless TALARIA_TESTBED_IPTABLES=nft. */
export function iptablesVariant(): 'legacy' | 'nft' {
  return process.env.TALARIA_TESTBED_IPTABLES === 'nft' ? 'nft' : 'legacy';
}

/** A PATH directory whose iptables tools are the chosen variant's. */
async function iptablesPath(dir: string): Promise<string> {
  const bin = join(dir, 'iptables-bin');
  await mkdir(bin, { recursive: true });
  const variant = iptablesVariant();
  for (const t of IPTABLES_TOOLS) {
    const target = `/usr/sbin/${t.replace(/^(ip6?tables)/, `$1-${variant}`)}`;
    await symlink(target, join(bin, t)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  return `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
}

/** The KubeProxyConfiguration a node's kube-proxy runs with. */
export function kubeProxyConfig(o: { mode: ProxyMode; node: string; kubeconfig: string }): Record<string, unknown> {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: o.mode,
    hostnameOverride: o.node,
    clusterCIDR: CLUSTER_CIDR,
    clientConnection: { kubeconfig: o.kubeconfig, qps: 100, burst: 200 },
    healthzBindAddress: KUBE_PROXY_HEALTHZ,
    metricsBindAddress: KUBE_PROXY_METRICS,
    // 0: leave the machine-wide nf_conntrack_max alone (it is not per namespace).
    conntrack: { maxPerCore: 0, min: 0 },
    syncPeriod: '30s',
    minSyncPeriod: '1s',
  };
}

/** Starts kube-proxy for one node inside its namespace. */
export async function startKubeProxy(o: { mode: ProxyMode; node: string; netns: string; kubeconfig: string; dir: string }): Promise<TrackedProcess> {
  await mkdir(o.dir, { recursive: true });
  const config = join(o.dir, `kube-proxy-${o.node}.yaml`);
  await writeFile(config, stringify(kubeProxyConfig(o)));
  const env = { ...process.env, PATH: await iptablesPath(o.dir) };
  return spawnTracked(`kube-proxy-${o.node}`, inNodeNetns(o.netns, [kubernetesBinary('kube-proxy'), `--config=${config}`, '--v=1']), join(o.dir, `kube-proxy-${o.node}.log`), env);
}
