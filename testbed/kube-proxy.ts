// The baselines are the real kube-proxy: one per node, inside the node's
// network namespace, in iptables or nftables mode, with the testbed's cluster
// CIDR and the node's name, reaching the API server through the node's relay.
//
// iptables mode calls the `iptables` it finds on PATH: Debian's default,
// iptables-nft, as on the clusters Talaria replaces kube-proxy in. It is not
// too slow here to keep: with 5,000 Services kube-proxy's syncs took 0.245 s
// on average with iptables-nft and 0.200 s with iptables-legacy (sum/count of
// kubeproxy_sync_proxy_rules_duration_seconds over the ~45 syncs of `testbed
// up --services 5000`, 2026-12-04). TALARIA_TESTBED_IPTABLES=legacy gives it
// iptables-legacy instead, through a PATH directory of links.
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

/** Which iptables kube-proxy runs: nft unless TALARIA_TESTBED_IPTABLES=legacy. */
export function iptablesVariant(): 'legacy' | 'nft' {
  return process.env.TALARIA_TESTBED_IPTABLES === 'legacy' ? 'legacy' : 'nft';
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

interface KubeProxySpec {
  mode: ProxyMode;
  node: string;
  netns: string;
  kubeconfig: string;
  /** Its configuration file and log go here. */
  dir: string;
}

/** The command line of a node's kube-proxy (inside the node's namespace). */
export function kubeProxyArgv(o: KubeProxySpec): string[] {
  return inNodeNetns(o.netns, [kubernetesBinary('kube-proxy'), `--config=${join(o.dir, `kube-proxy-${o.node}.yaml`)}`, '--v=1']);
}

/** Starts kube-proxy for one node inside its namespace. */
export async function startKubeProxy(o: KubeProxySpec): Promise<TrackedProcess> {
  await mkdir(o.dir, { recursive: true });
  await writeFile(join(o.dir, `kube-proxy-${o.node}.yaml`), stringify(kubeProxyConfig(o)));
  const env = { ...process.env, PATH: await iptablesPath(o.dir) };
  return spawnTracked(`kube-proxy-${o.node}`, kubeProxyArgv(o), join(o.dir, `kube-proxy-${o.node}.log`), env);
}
