// The addresses a service port answers on, and who owns one that two
// Services claim: the part of kube-proxy's model that turns service ports
// into "frontends" (ClusterIPs, NodeIP:nodePort, externalIPs, LoadBalancer
// ingress IPs). The controller (switch tables) and the node agent (host
// maps) both build on it, so a host and the switch never disagree on which
// Service a frontend belongs to.
import type { ServicePortInfo } from './service-port.js';
import { cidrContains, parseCidr } from './ip.js';

export type FrontendKind = 'cluster' | 'nodeport' | 'external' | 'loadbalancer';

/** What frontends need to know of a Node. */
export interface NodeAddresses {
  readonly name: string;
  /** InternalIP addresses: NodePort frontends. */
  readonly internalIPs: readonly string[];
}

export interface FrontendCandidate {
  /** "addr|port|PROTOCOL". */
  readonly key: string;
  readonly addr: string;
  readonly port: number;
  readonly kind: FrontendKind;
  /** nodeport: the node whose address this is. */
  readonly node?: string;
  /** The field of the Service that asks for it (for problems). */
  readonly field: string;
}

export function frontendKey(addr: string, port: number, protocol: string): string {
  return `${addr}|${port}|${protocol}`;
}

/** kube-proxy's --nodeport-addresses: the node addresses that answer on NodePorts (none given: every InternalIP). */
export type NodePortAddresses = readonly Cidr[];
type Cidr = NonNullable<ReturnType<typeof parseCidr>>;

/** Parses the --nodeport-addresses value (comma-separated CIDRs); throws a message naming the bad one. */
export function parseNodePortAddresses(text: string): NodePortAddresses {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((t) => {
      const c = parseCidr(t);
      if (!c) throw new Error(`--nodeport-addresses ${JSON.stringify(text)}: ${JSON.stringify(t)} is not a CIDR`);
      return c;
    });
}

/** Every frontend a service port asks for, in spec order: ClusterIPs, node ports, external IPs, LoadBalancer IPs. */
export function frontendCandidates(sp: ServicePortInfo, nodes: readonly NodeAddresses[], nodePortAddresses: NodePortAddresses = []): FrontendCandidate[] {
  const out: FrontendCandidate[] = [];
  const p = sp.portIndex;
  for (const ip of sp.clusterIPs) out.push({ key: frontendKey(ip, sp.port, sp.protocol), addr: ip, port: sp.port, kind: 'cluster', field: `spec.ports[${p}].port` });
  if (sp.nodePort !== undefined) {
    const serves = (ip: string): boolean => nodePortAddresses.length === 0 || nodePortAddresses.some((c) => cidrContains(c, ip));
    for (const n of nodes) {
      for (const ip of n.internalIPs.filter(serves)) out.push({ key: frontendKey(ip, sp.nodePort, sp.protocol), addr: ip, port: sp.nodePort, kind: 'nodeport', node: n.name, field: `spec.ports[${p}].nodePort` });
    }
  }
  for (const { ip, field } of sp.externalIPs) out.push({ key: frontendKey(ip, sp.port, sp.protocol), addr: ip, port: sp.port, kind: 'external', field });
  for (const { ip, field } of sp.loadBalancerIPs) out.push({ key: frontendKey(ip, sp.port, sp.protocol), addr: ip, port: sp.port, kind: 'loadbalancer', field });
  return out;
}

/**
 * Whether Service a (created at aAt) owns a frontend that b also claims: the
 * older Service wins, then the one first in namespace/name order. The same
 * rule on the switch and on every host.
 */
export function ownsBefore(a: { name: string; createdAt: string }, b: { name: string; createdAt: string }): boolean {
  return a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.name < b.name);
}
