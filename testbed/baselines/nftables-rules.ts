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
  /** Every transaction, concatenated (what the table receives, in order). */
  text: string;
  /** Inputs for `nft -f -`, applied one after the other. */
  transactions: string[];
  chains: number;
  /** Service ports whose chains this transaction (re)wrote. */
  written: number;
  /** What the next sync compares against to send only what changed. */
  state: NftablesSyncState;
}

/** A map or set element: `add element T map { key rest }`, deleted by its key. */
interface Element {
  map: string;
  key: string;
  rest: string;
}

/** The objects of one service port. */
interface PortObjects {
  sig: string;
  /** Chain name -> its rules (full `add rule` lines), in creation order. */
  chains: Map<string, string[]>;
  /** Affinity set name -> its `add set` line. */
  sets: Map<string, string>;
  elements: Element[];
  comment: string;
}

/** Per service port, the input it was generated from and its objects (kube-proxy's partial sync). */
export interface NftablesSyncState {
  ctxSig: string;
  ports: Map<string, PortObjects>;
}

const elementLine = (e: Element): string => `add element ${T} ${e.map} { ${e.key}${e.rest} }`;
const elementId = (e: Element): string => `${e.map} ${e.key}`;

/**
 * The kube-proxy table of one node. Without `previous` (or when the node's
 * context changed) the transaction recreates the whole table; otherwise, as
 * kube-proxy does, it touches only the chains, sets and map elements of the
 * service ports that changed.
 */
/**
 * Service ports per transaction. kube-proxy sends one transaction; on this
 * kernel a transaction's cost grows with the square of its size (each
 * anonymous vmap is looked up by id along the transaction), so a sync that
 * touches many service ports is sent in transactions of this many ports. Each
 * transaction carries whole service ports, so every chain is always complete.
 */
export const PORTS_PER_TRANSACTION = 500;

function groups<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function nftablesRules(ports: readonly ServicePort[], ctx: NftablesContext, previous?: NftablesSyncState, portsPerTransaction = PORTS_PER_TRANSACTION): NftablesRules {
  const ctxSig = JSON.stringify(ctx);
  const prev = previous && previous.ctxSig === ctxSig ? previous : undefined;
  const state: NftablesSyncState = { ctxSig, ports: new Map() };
  const changed: PortObjects[] = [];
  let chains = 0;
  for (const sp of ports) {
    const key = `${servicePortName(sp)}/${sp.protocol}`;
    const sig = JSON.stringify(sp);
    const old = prev?.ports.get(key);
    const po = old && old.sig === sig ? old : portObjects(sp, ctx, sig);
    state.ports.set(key, po);
    chains += po.chains.size;
    if (po !== old) changed.push(po);
  }
  if (!prev) {
    const all = [...state.ports.values()];
    const transactions = groups(all, portsPerTransaction).map((group, i) => {
      const decls: string[] = [];
      const body: string[] = [];
      for (const po of group) {
        for (const line of po.sets.values()) decls.push(line);
        for (const name of po.chains.keys()) decls.push(`add chain ${T} ${name}`);
        body.push(po.comment);
        for (const rules of po.chains.values()) body.push(...rules);
        for (const e of po.elements) body.push(elementLine(e));
      }
      // Create-then-delete makes the delete safe on the first sync; every chain
      // and set exists before a rule or element refers to it.
      const head = i === 0 ? [`add table ${T}`, `delete table ${T}`, ...baseRules(ctx)] : [];
      return [...head, ...decls, ...body].join('\n') + '\n';
    });
    if (transactions.length === 0) transactions.push([`add table ${T}`, `delete table ${T}`, ...baseRules(ctx)].join('\n') + '\n');
    return { text: transactions.join(''), transactions, chains, written: state.ports.size, state };
  }

  const oldChains = new Set<string>();
  const oldSets = new Set<string>();
  const oldElements = new Map<string, string>();
  for (const po of prev.ports.values()) {
    for (const c of po.chains.keys()) oldChains.add(c);
    for (const n of po.sets.keys()) oldSets.add(n);
    for (const e of po.elements) oldElements.set(elementId(e), elementLine(e));
  }
  const newChains = new Set<string>();
  const newSets = new Set<string>();
  const newElements = new Map<string, string>();
  const keyOf = new Map<string, Element>();
  for (const po of state.ports.values()) {
    for (const c of po.chains.keys()) newChains.add(c);
    for (const n of po.sets.keys()) newSets.add(n);
    for (const e of po.elements) {
      newElements.set(elementId(e), elementLine(e));
      keyOf.set(elementId(e), e);
    }
  }
  // Changed ports' chains (created or flushed, then filled), a group of ports
  // per transaction; then the map elements and the removal of what is stale.
  const transactions: string[][] = groups(changed, portsPerTransaction).map((group) => {
    const out: string[] = [];
    for (const po of group) {
      for (const [name, line] of po.sets) if (!oldSets.has(name)) out.push(line);
      for (const name of po.chains.keys()) out.push(oldChains.has(name) ? `flush chain ${T} ${name}` : `add chain ${T} ${name}`);
    }
    for (const po of group) for (const rules of po.chains.values()) out.push(...rules);
    return out;
  });
  const out: string[] = [];
  const staleChains = [...oldChains].filter((c) => !newChains.has(c));
  for (const c of staleChains) out.push(`flush chain ${T} ${c}`);
  for (const [id, line] of oldElements) {
    if (newElements.get(id) === line) continue;
    const [map, ...key] = id.split(' ');
    out.push(`delete element ${T} ${map} { ${key.join(' ')} }`);
  }
  for (const [id, line] of newElements) if (oldElements.get(id) !== line) out.push(line);
  for (const c of staleChains) out.push(`delete chain ${T} ${c}`);
  for (const n of oldSets) if (!newSets.has(n)) out.push(`delete set ${T} ${n}`);
  // A small change stays one atomic transaction, as kube-proxy sends it.
  if (transactions.length <= 1) transactions[0] = [...(transactions[0] ?? []), ...out];
  else transactions.push(out);
  const texts = transactions.filter((t) => t.length > 0).map((t) => t.join('\n') + '\n');
  return { text: texts.join(''), transactions: texts, chains, written: changed.length, state };
}

function portObjects(sp: ServicePort, ctx: NftablesContext, sig: string): PortObjects {
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
  const po: PortObjects = { sig, chains: new Map(), sets: new Map(), elements: [], comment: `# ${sp.namespace}/${sp.name}:${sp.portName}/${proto}` };
  const rule = (chain: string, text: string): void => {
    let c = po.chains.get(chain);
    if (!c) po.chains.set(chain, (c = []));
    c.push(`add rule ${T} ${chain} ${text}`);
  };

  const used = new Map<string, Endpoint>();
  if (usesCluster && cluster.length > 0) {
    for (const e of cluster) used.set(`${e.ip}:${e.port}`, e);
    rule(svcChain, `ip daddr ${sp.clusterIP} ip saddr != ${ctx.clusterCIDR} jump mark-for-masquerade`);
    for (const r of endpointDispatch(sp, cluster)) rule(svcChain, r);
  }
  if (usesLocal && local.length > 0) {
    for (const e of local) used.set(`${e.ip}:${e.port}`, e);
    for (const r of endpointDispatch(sp, local)) rule(localChain, r);
  }
  if (external && externalEps.length > 0) {
    if (sp.externalPolicyLocal) {
      if (usesCluster && cluster.length > 0) {
        rule(extChain, `ip saddr ${ctx.clusterCIDR} goto ${svcChain} comment "short-circuit pod traffic"`);
        rule(extChain, `fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"`);
        rule(extChain, `fib saddr type local goto ${svcChain} comment "short-circuit local traffic"`);
      }
      rule(extChain, `goto ${localChain}`);
    } else {
      rule(extChain, 'jump mark-for-masquerade');
      rule(extChain, `goto ${svcChain}`);
    }
  }
  for (const e of used.values()) {
    const epChain = `endpoint-${endpointChainBase(sp, e)}`;
    if (sp.affinitySeconds !== undefined) {
      po.sets.set(affinitySet(sp, e), `add set ${T} ${affinitySet(sp, e)} { type ipv4_addr ; flags dynamic,timeout ; timeout ${sp.affinitySeconds}s ; }`);
    }
    rule(epChain, `ip saddr ${e.ip} jump mark-for-masquerade`);
    if (sp.affinitySeconds !== undefined) rule(epChain, `update @${affinitySet(sp, e)} { ip saddr }`);
    rule(epChain, `meta l4proto ${proto} dnat to ${e.ip}:${e.port}`);
  }

  const el = (map: string, key: string, rest: string): void => {
    po.elements.push({ map, key, rest });
  };
  el('cluster-ips', sp.clusterIP, '');
  if (internalEps.length > 0) el('service-ips', `${sp.clusterIP} . ${proto} . ${sp.port}`, ` : goto ${internalTarget}`);
  else el('no-endpoint-services', `${sp.clusterIP} . ${proto} . ${sp.port}`, ` comment "${spn}" : goto reject-chain`);
  if (external) {
    // No endpoints at all: reject; only no local ones: drop (kube-proxy).
    const verdict = cluster.length === 0 ? 'goto reject-chain' : 'drop';
    for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) {
      if (externalEps.length > 0) el('service-ips', `${ip} . ${proto} . ${sp.port}`, ` : goto ${extChain}`);
      else el('no-endpoint-services', `${ip} . ${proto} . ${sp.port}`, ` comment "${spn}" : ${verdict}`);
    }
    if (sp.nodePort !== undefined) {
      if (externalEps.length > 0) el('service-nodeports', `${proto} . ${sp.nodePort}`, ` : goto ${extChain}`);
      else el('no-endpoint-nodeports', `${proto} . ${sp.nodePort}`, ` comment "${spn}" : ${verdict}`);
    }
  }
  return po;
}

function affinitySet(sp: ServicePort, e: Endpoint): string {
  return `affinity-${endpointChainBase(sp, e)}`;
}

/** The rule texts that pick an endpoint: affinity first, then numgen over the endpoints. */
function endpointDispatch(sp: ServicePort, eps: readonly Endpoint[]): string[] {
  const out: string[] = [];
  if (sp.affinitySeconds !== undefined) {
    for (const e of eps) out.push(`ip saddr @${affinitySet(sp, e)} goto endpoint-${endpointChainBase(sp, e)}`);
  }
  const elems = eps.map((e, i) => `${i} : goto endpoint-${endpointChainBase(sp, e)}`).join(' , ');
  out.push(`numgen random mod ${eps.length} vmap { ${elems} }`);
  return out;
}
