// kube-proxy's nftables mode, reproduced: table `ip kube-proxy` with the
// service-ips and service-nodeports verdict maps, per-service chains
// `service-<hash>-ns/name/proto/port` choosing an endpoint with
// `numgen random mod N vmap`, endpoint chains that DNAT, `external-` and
// `local-` chains for external destinations and Local policies, affinity sets,
// the masquerading chain and the no-endpoint reject maps.
// The output is one `nft -f -` transaction that replaces the whole table
// atomically (kube-proxy sends partial transactions; the resulting table is
// the same).
import { createHash } from 'node:crypto';
import { clusterEndpoints, hasExternal, localEndpoints, servicePortName } from './service-model.js';
import type { Endpoint, ServicePort } from './service-model.js';
import { base32 } from './base32.js';

export const NFT_TABLE = 'kube-proxy';

export interface NftablesContext {
  /** Pod CIDR (kube-proxy's LocalDetector): outside sources are masqueraded. */
  clusterCIDR: string;
  /** Service CIDR: traffic to unallocated ClusterIPs is dropped. */
  serviceCIDR: string;
  /** Addresses that accept NodePort traffic (the node's InternalIP). */
  nodePortIPs: string[];
}

function hashAndName(name: string): string {
  return `${base32(createHash('sha256').update(name).digest()).slice(0, 8)}-${name}`;
}

/** "ULMVA6XW-ns1/svc1/tcp/p80". */
export function servicePortChainBase(sp: ServicePort): string {
  return hashAndName(`${sp.namespace}/${sp.name}/${sp.protocol.toLowerCase()}/${sp.portName}`);
}

/** "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80". */
export function endpointChainBase(sp: ServicePort, ep: Endpoint): string {
  return hashAndName(`${sp.namespace}/${sp.name}/${sp.protocol.toLowerCase()}/${sp.portName}__${ep.ip}/${ep.port}`);
}

const T = `ip ${NFT_TABLE}`;

function baseRules(ctx: NftablesContext): string[] {
  return [
    `add table ${T} { comment "rules for kube-proxy" ; }`,
    `add set ${T} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`,
    `add set ${T} nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`,
    `add map ${T} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
    `add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add map ${T} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add chain ${T} cluster-ips-check`,
    `add chain ${T} filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }`,
    `add chain ${T} filter-output-pre-dnat { type filter hook output priority -110 ; }`,
    `add chain ${T} filter-forward { type filter hook forward priority 0 ; }`,
    `add chain ${T} filter-input { type filter hook input priority 0 ; }`,
    `add chain ${T} filter-output { type filter hook output priority 0 ; }`,
    `add chain ${T} firewall-check`,
    `add chain ${T} mark-for-masquerade`,
    `add chain ${T} masquerading`,
    `add chain ${T} nat-output { type nat hook output priority -100 ; }`,
    `add chain ${T} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add chain ${T} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${T} nodeport-endpoints-check`,
    `add chain ${T} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
    `add chain ${T} services`,
    `add chain ${T} service-endpoints-check`,
    `add rule ${T} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    `add rule ${T} cluster-ips-check ip daddr { ${ctx.serviceCIDR} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    `add rule ${T} filter-prerouting-pre-dnat ct state new jump firewall-check`,
    `add rule ${T} filter-forward ct state new jump service-endpoints-check`,
    `add rule ${T} filter-forward ct state new jump cluster-ips-check`,
    `add rule ${T} filter-input ct state new jump nodeport-endpoints-check`,
    `add rule ${T} filter-input ct state new jump service-endpoints-check`,
    `add rule ${T} filter-output ct state new jump service-endpoints-check`,
    `add rule ${T} filter-output-pre-dnat ct state new jump firewall-check`,
    `add rule ${T} filter-output ct state new jump cluster-ips-check`,
    `add rule ${T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add rule ${T} mark-for-masquerade mark set mark or 0x4000`,
    `add rule ${T} masquerading mark and 0x4000 == 0 return`,
    `add rule ${T} masquerading mark set mark xor 0x4000`,
    `add rule ${T} masquerading masquerade fully-random`,
    `add rule ${T} nat-output jump services`,
    `add rule ${T} nat-postrouting jump masquerading`,
    `add rule ${T} nat-prerouting jump services`,
    `add rule ${T} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ${T} reject-chain reject`,
    `add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${T} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
    ...ctx.nodePortIPs.map((ip) => `add element ${T} nodeport-ips { ${ip} }`),
    `add rule ${T} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
  ];
}

export interface NftablesRules {
  /** Input for `nft -f -`: replaces the table in one transaction. */
  text: string;
  chains: number;
}

/** The whole kube-proxy table of one node. */
export function nftablesRules(ports: readonly ServicePort[], ctx: NftablesContext): NftablesRules {
  const head: string[] = [
    // Create-then-delete makes the delete safe on the first sync; all in one transaction.
    `add table ${T}`,
    `delete table ${T}`,
    ...baseRules(ctx),
  ];
  const out: string[] = [];
  let chains = 0;
  for (const sp of ports) {
    const spn = servicePortName(sp);
    const base = servicePortChainBase(sp);
    const proto = sp.protocol.toLowerCase();
    const svcChain = `service-${base}`;
    const localChain = `local-${base}`;
    const extChain = `external-${base}`;
    const cluster = clusterEndpoints(sp);
    const local = localEndpoints(sp);
    const external = hasExternal(sp);
    const usesCluster = !sp.internalPolicyLocal || (external && !sp.externalPolicyLocal);
    const usesLocal = sp.internalPolicyLocal || (external && sp.externalPolicyLocal);
    const internalTarget = sp.internalPolicyLocal ? localChain : svcChain;
    const internalEps = sp.internalPolicyLocal ? local : cluster;
    const externalEps = sp.externalPolicyLocal ? local : cluster;
    const lines: string[] = [`# ${sp.namespace}/${sp.name}:${sp.portName}/${proto}`];

    const used = new Map<string, Endpoint>();
    if (usesCluster && cluster.length > 0) {
      for (const e of cluster) used.set(`${e.ip}:${e.port}`, e);
      lines.push(`add chain ${T} ${svcChain}`);
      lines.push(`add rule ${T} ${svcChain} ip daddr ${sp.clusterIP} ip saddr != ${ctx.clusterCIDR} jump mark-for-masquerade`);
      lines.push(...endpointDispatch(sp, svcChain, cluster));
      chains++;
    }
    if (usesLocal && local.length > 0) {
      for (const e of local) used.set(`${e.ip}:${e.port}`, e);
      lines.push(`add chain ${T} ${localChain}`);
      lines.push(...endpointDispatch(sp, localChain, local));
      chains++;
    }
    if (external && externalEps.length > 0) {
      lines.push(`add chain ${T} ${extChain}`);
      if (sp.externalPolicyLocal) {
        if (usesCluster && cluster.length > 0) {
          lines.push(`add rule ${T} ${extChain} ip saddr ${ctx.clusterCIDR} goto ${svcChain} comment "short-circuit pod traffic"`);
          lines.push(`add rule ${T} ${extChain} fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"`);
          lines.push(`add rule ${T} ${extChain} fib saddr type local goto ${svcChain} comment "short-circuit local traffic"`);
        }
        lines.push(`add rule ${T} ${extChain} goto ${localChain}`);
      } else {
        lines.push(`add rule ${T} ${extChain} jump mark-for-masquerade`);
        lines.push(`add rule ${T} ${extChain} goto ${svcChain}`);
      }
      chains++;
    }
    for (const e of used.values()) {
      if (sp.affinitySeconds !== undefined) {
        lines.push(`add set ${T} ${affinitySet(sp, e)} { type ipv4_addr ; flags dynamic,timeout ; timeout ${sp.affinitySeconds}s ; }`);
      }
      const epChain = `endpoint-${endpointChainBase(sp, e)}`;
      lines.push(`add chain ${T} ${epChain}`);
      lines.push(`add rule ${T} ${epChain} ip saddr ${e.ip} jump mark-for-masquerade`);
      if (sp.affinitySeconds !== undefined) lines.push(`add rule ${T} ${epChain} update @${affinitySet(sp, e)} { ip saddr }`);
      lines.push(`add rule ${T} ${epChain} meta l4proto ${proto} dnat to ${e.ip}:${e.port}`);
      chains++;
    }

    lines.push(`add element ${T} cluster-ips { ${sp.clusterIP} }`);
    if (internalEps.length > 0) {
      lines.push(`add element ${T} service-ips { ${sp.clusterIP} . ${proto} . ${sp.port} : goto ${internalTarget} }`);
    } else {
      lines.push(`add element ${T} no-endpoint-services { ${sp.clusterIP} . ${proto} . ${sp.port} comment "${spn}" : goto reject-chain }`);
    }
    if (external) {
      // No endpoints at all: reject; only no local ones: drop (kube-proxy).
      const verdict = cluster.length === 0 ? 'goto reject-chain' : 'drop';
      for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) {
        if (externalEps.length > 0) lines.push(`add element ${T} service-ips { ${ip} . ${proto} . ${sp.port} : goto ${extChain} }`);
        else lines.push(`add element ${T} no-endpoint-services { ${ip} . ${proto} . ${sp.port} comment "${spn}" : ${verdict} }`);
      }
      if (sp.nodePort !== undefined) {
        if (externalEps.length > 0) lines.push(`add element ${T} service-nodeports { ${proto} . ${sp.nodePort} : goto ${extChain} }`);
        else lines.push(`add element ${T} no-endpoint-nodeports { ${proto} . ${sp.nodePort} comment "${spn}" : ${verdict} }`);
      }
    }
    out.push(...lines);
  }
  // Every chain and set must exist before a rule or map element refers to it:
  // declarations first, then rules and elements, all in one transaction.
  const decls = out.filter((l) => l.startsWith(`add chain ${T} `) || l.startsWith(`add set ${T} affinity-`));
  const body = out.filter((l) => !(l.startsWith(`add chain ${T} `) || l.startsWith(`add set ${T} affinity-`)));
  return { text: [...head, ...decls, ...body].join('\n') + '\n', chains };
}

function affinitySet(sp: ServicePort, e: Endpoint): string {
  return `affinity-${endpointChainBase(sp, e)}`;
}

function endpointDispatch(sp: ServicePort, chainName: string, eps: readonly Endpoint[]): string[] {
  const out: string[] = [];
  if (sp.affinitySeconds !== undefined) {
    for (const e of eps) out.push(`add rule ${T} ${chainName} ip saddr @${affinitySet(sp, e)} goto endpoint-${endpointChainBase(sp, e)}`);
  }
  const elems = eps.map((e, i) => `${i} : goto endpoint-${endpointChainBase(sp, e)}`).join(' , ');
  out.push(`add rule ${T} ${chainName} numgen random mod ${eps.length} vmap { ${elems} }`);
  return out;
}
