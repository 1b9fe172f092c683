// kube-proxy's iptables mode, reproduced: the same chains (KUBE-SERVICES ->
// KUBE-SVC-<hash> -> KUBE-SEP-<hash>, KUBE-SVL for local policies, KUBE-EXT
// for external destinations, KUBE-NODEPORTS, KUBE-MARK-MASQ and
// KUBE-POSTROUTING), the same hashes, the same statistic probabilities and
// `-m recent` affinity, the same REJECT rules for services without endpoints.
// The text is for `iptables-restore --noflush`: kube-proxy owns only its own
// chains; the jumps from the built-in chains are installed once (baseRules).
import { createHash } from 'node:crypto';
import { clusterEndpoints, hasExternal, localEndpoints, servicePortName } from './service-model.js';
import type { Endpoint, ServicePort } from './service-model.js';
import { base32 } from './base32.js';

export interface IptablesContext {
  /** Pod CIDR: traffic from outside it to a ClusterIP is masqueraded (kube-proxy's LocalDetector). */
  clusterCIDR: string;
  masqueradeMark?: string;
}

const MASQ_MARK = '0x4000';

/** KUBE-SVC-/KUBE-EXT-/...: base32(sha256(servicePortName + protocol))[:16], as kube-proxy. */
export function portProtoHash(sp: ServicePort): string {
  return base32(createHash('sha256').update(servicePortName(sp) + sp.protocol.toLowerCase()).digest()).slice(0, 16);
}

export function sepChainName(sp: ServicePort, ep: Endpoint): string {
  const h = createHash('sha256').update(servicePortName(sp) + sp.protocol.toLowerCase() + `${ep.ip}:${ep.port}`).digest();
  return `KUBE-SEP-${base32(h).slice(0, 16)}`;
}

function comment(text: string): string {
  return /[\s"]/.test(text) ? `"${text.replace(/"/g, '\\"')}"` : text;
}

function proto(sp: ServicePort): string {
  const p = sp.protocol.toLowerCase();
  return `-m ${p} -p ${p}`;
}

/** The built-in chains' jumps into kube-proxy's chains (installed once per node, full restore). */
export function baseRules(): string {
  return [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    'COMMIT',
    '',
  ].join('\n');
}

export interface IptablesRules {
  /** Input for `iptables-restore --noflush`. */
  text: string;
  /** Every per-service chain that exists after the restore. */
  chains: Set<string>;
  /** Per-service chains this restore (re)wrote. */
  written: number;
  natRules: number;
  /** What the next sync compares against to write only what changed. */
  state: IptablesSyncState;
}

/** The rules of one service port: lines in the shared chains, and its own chains. */
interface PortRules {
  sig: string;
  fServices: string[];
  fExternal: string[];
  nNodeports: string[];
  nServices: string[];
  chains: Map<string, string[]>;
}

/** Per service port, the input it was generated from and its rules (kube-proxy's partial sync). */
export interface IptablesSyncState {
  ports: Map<string, PortRules>;
}

function portKey(sp: ServicePort): string {
  return `${servicePortName(sp)}/${sp.protocol}`;
}

/**
 * The ruleset of one node. Like kube-proxy (MinimizeIPTablesRestore), the
 * shared chains (KUBE-SERVICES, KUBE-NODEPORTS, the filter chains) are always
 * rewritten, but a service port's own chains only when it changed since
 * `previous`; chains no longer used are flushed and deleted.
 */
export function iptablesRules(ports: readonly ServicePort[], ctx: IptablesContext, previous?: IptablesSyncState): IptablesRules {
  const mark = ctx.masqueradeMark ?? MASQ_MARK;
  const state: IptablesSyncState = { ports: new Map() };
  const emitted = new Map<string, string[]>();
  const all = new Set<string>();
  const shared = { fServices: [] as string[], fExternal: [] as string[], nNodeports: [] as string[], nServices: [] as string[] };
  let natRules = 5;
  for (const sp of ports) {
    const key = portKey(sp);
    const sig = JSON.stringify(sp) + ctx.clusterCIDR;
    const prev = previous?.ports.get(key);
    const pr = prev && prev.sig === sig ? prev : portRules(sp, ctx, sig);
    state.ports.set(key, pr);
    shared.fServices.push(...pr.fServices);
    shared.fExternal.push(...pr.fExternal);
    shared.nNodeports.push(...pr.nNodeports);
    shared.nServices.push(...pr.nServices);
    natRules += pr.nNodeports.length + pr.nServices.length;
    for (const [name, rules] of pr.chains) {
      all.add(name);
      natRules += rules.length;
      if (pr !== prev) emitted.set(name, rules);
    }
  }
  const previousChains = new Set<string>();
  for (const pr of previous?.ports.values() ?? []) for (const name of pr.chains.keys()) previousChains.add(name);
  const written = [...emitted.keys()].sort();
  const stale = [...previousChains].filter((c) => !all.has(c)).sort();
  const lines: string[] = [
    '*filter',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    ...shared.fServices,
    ...shared.fExternal,
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    'COMMIT',
    '*nat',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ...written.map((c) => `:${c} - [0:0]`),
    ...stale.map((c) => `:${c} - [0:0]`),
    ...shared.nNodeports,
    ...shared.nServices,
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`,
    `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`,
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ];
  for (const c of written) for (const r of emitted.get(c)!) lines.push(r);
  for (const c of stale) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return { text: lines.join('\n'), chains: all, written: written.length, natRules, state };
}

function portRules(sp: ServicePort, ctx: IptablesContext, sig: string): PortRules {
  const pr: PortRules = { sig, fServices: [], fExternal: [], nNodeports: [], nServices: [], chains: new Map() };
  const { fServices, fExternal, nNodeports, nServices } = pr;
  const chain = (name: string): string[] => {
    let c = pr.chains.get(name);
    if (!c) pr.chains.set(name, (c = []));
    return c;
  };
  const spn = servicePortName(sp);
  const hash = portProtoHash(sp);
  const svcChain = `KUBE-SVC-${hash}`;
  const svlChain = `KUBE-SVL-${hash}`;
  const extChain = `KUBE-EXT-${hash}`;
  const p = proto(sp);
  const cluster = clusterEndpoints(sp);
  const local = localEndpoints(sp);
  const external = hasExternal(sp);
  const internalChain = sp.internalPolicyLocal ? svlChain : svcChain;
  const internalEps = sp.internalPolicyLocal ? local : cluster;
  const externalEps = sp.externalPolicyLocal ? local : cluster;
  // kube-proxy: the cluster chain serves a Cluster internal policy and a
  // Cluster external policy; the local chain serves the Local ones.
  const usesCluster = !sp.internalPolicyLocal || (external && !sp.externalPolicyLocal);
  const usesLocal = sp.internalPolicyLocal || (external && sp.externalPolicyLocal);

  // ClusterIP
  if (internalEps.length > 0) {
    nServices.push(`-A KUBE-SERVICES -m comment --comment ${comment(`${spn} cluster IP`)} ${p} -d ${sp.clusterIP} --dport ${sp.port} -j ${internalChain}`);
  } else {
    const why = cluster.length === 0 ? 'has no endpoints' : 'has no local endpoints';
    fServices.push(`-A KUBE-SERVICES -m comment --comment ${comment(`${spn} ${why}`)} ${p} -d ${sp.clusterIP} --dport ${sp.port} -j REJECT`);
  }

  // External destinations: ExternalIPs, LoadBalancer IPs, the NodePort.
  if (external) {
    if (externalEps.length > 0) {
      for (const ip of sp.externalIPs) nServices.push(`-A KUBE-SERVICES -m comment --comment ${comment(`${spn} external IP`)} ${p} -d ${ip} --dport ${sp.port} -j ${extChain}`);
      for (const ip of sp.loadBalancerIPs) nServices.push(`-A KUBE-SERVICES -m comment --comment ${comment(`${spn} loadbalancer IP`)} ${p} -d ${ip} --dport ${sp.port} -j ${extChain}`);
      if (sp.nodePort !== undefined) nNodeports.push(`-A KUBE-NODEPORTS -m comment --comment ${comment(spn)} ${p} --dport ${sp.nodePort} -j ${extChain}`);
      const ext = chain(extChain);
      if (sp.externalPolicyLocal) {
        // Pods and the node itself are not "external": they may use any endpoint.
        if (usesCluster && cluster.length > 0) ext.push(`-A ${extChain} -m comment --comment ${comment(`pod traffic for ${spn} external destinations`)} -s ${ctx.clusterCIDR} -j ${svcChain}`);
        if (usesCluster && cluster.length > 0) ext.push(`-A ${extChain} -m comment --comment ${comment(`masquerade LOCAL traffic for ${spn} external destinations`)} -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`);
        if (usesCluster && cluster.length > 0) ext.push(`-A ${extChain} -m comment --comment ${comment(`route LOCAL traffic for ${spn} external destinations`)} -m addrtype --src-type LOCAL -j ${svcChain}`);
        ext.push(`-A ${extChain} -j ${svlChain}`);
      } else {
        ext.push(`-A ${extChain} -m comment --comment ${comment(`masquerade traffic for ${spn} external destinations`)} -j KUBE-MARK-MASQ`);
        ext.push(`-A ${extChain} -j ${svcChain}`);
      }
    } else {
      const why = cluster.length === 0 ? 'has no endpoints' : 'has no local endpoints';
      const verdict = cluster.length === 0 ? 'REJECT' : 'DROP';
      for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) fExternal.push(`-A KUBE-EXTERNAL-SERVICES -m comment --comment ${comment(`${spn} ${why}`)} ${p} -d ${ip} --dport ${sp.port} -j ${verdict}`);
      if (sp.nodePort !== undefined) fExternal.push(`-A KUBE-EXTERNAL-SERVICES -m comment --comment ${comment(`${spn} ${why}`)} -m addrtype --dst-type LOCAL ${p} --dport ${sp.nodePort} -j ${verdict}`);
    }
  }

  if (usesCluster && cluster.length > 0) {
    const c = chain(svcChain);
    c.push(`-A ${svcChain} -m comment --comment ${comment(`${spn} cluster IP`)} ${p} -d ${sp.clusterIP} --dport ${sp.port} ! -s ${ctx.clusterCIDR} -j KUBE-MARK-MASQ`);
    c.push(...endpointJumps(sp, svcChain, cluster));
  }
  if (usesLocal && local.length > 0) chain(svlChain).push(...endpointJumps(sp, svlChain, local));

  // Endpoint chains of every endpoint that some chain of this port uses.
  const used = new Map<string, Endpoint>();
  for (const e of [...(usesCluster ? cluster : []), ...(usesLocal ? local : [])]) used.set(`${e.ip}:${e.port}`, e);
  for (const e of used.values()) {
    const sep = sepChainName(sp, e);
    const c = chain(sep);
    c.push(`-A ${sep} -m comment --comment ${comment(spn)} -s ${e.ip} -j KUBE-MARK-MASQ`);
    const recent = sp.affinitySeconds !== undefined ? ` -m recent --name ${sep} --set` : '';
    c.push(`-A ${sep} -m comment --comment ${comment(spn)}${recent} ${p} -j DNAT --to-destination ${e.ip}:${e.port}`);
  }
  return pr;
}

/** The affinity checks and the probability ladder of a KUBE-SVC/KUBE-SVL chain. */
function endpointJumps(sp: ServicePort, chainName: string, eps: readonly Endpoint[]): string[] {
  const spn = servicePortName(sp);
  const out: string[] = [];
  if (sp.affinitySeconds !== undefined) {
    for (const e of eps) {
      const sep = sepChainName(sp, e);
      out.push(`-A ${chainName} -m comment --comment ${comment(`${spn} -> ${e.ip}:${e.port}`)} -m recent --name ${sep} --rcheck --seconds ${sp.affinitySeconds} --reap -j ${sep}`);
    }
  }
  const n = eps.length;
  eps.forEach((e, i) => {
    const sep = sepChainName(sp, e);
    const stat = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)}` : '';
    out.push(`-A ${chainName} -m comment --comment ${comment(`${spn} -> ${e.ip}:${e.port}`)}${stat} -j ${sep}`);
  });
  return out;
}
