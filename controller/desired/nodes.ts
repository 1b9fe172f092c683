// What the switch needs to know about Nodes: spec.podCIDR(s) and the
// InternalIP route to the node's switch port. The node agent publishes the
// node's uplink MAC; the port comes from the controller's topology map or an
// operator's annotation (proxy/node-annotations.ts, controller/README.md).
import type { V1Node } from '@kubernetes/client-node';
import { canonicalIp, parseCidr } from '../../proxy/ip.js';
import { switchPortAnnotation, uplinkMacAnnotation } from '../../proxy/node-annotations.js';

export { switchPortAnnotation, uplinkMacAnnotation };

export interface NodeInfo {
  readonly name: string;
  /** InternalIP addresses: NodePort frontends and /32 (/128) routes. */
  readonly internalIPs: readonly string[];
  readonly podCIDRs: readonly { readonly ip: string; readonly prefixLen: number }[];
  /** Absent when the annotations are missing or malformed: no routes then. */
  readonly switchPort?: number;
  readonly uplinkMac?: string;
}

export interface ExternalRoute {
  readonly prefix: string;
  readonly prefixLen: number;
  readonly port: number;
  readonly mac: string;
}

/** A switch port's own MAC: the source MAC of packets leaving it (talaria.p4's egress_ports). */
export interface PortMac {
  readonly port: number;
  readonly mac: string;
}

/** What the operator tells the controller about the switch (flags / chart values): no Kubernetes object says it. */
export interface SwitchWiring {
  readonly externalRoutes: readonly ExternalRoute[];
  readonly portMacs: readonly PortMac[];
  /** Node name -> the switch port that leads to it (the rack's topology). */
  readonly nodeSwitchPorts: ReadonlyMap<string, number>;
}

export const NO_WIRING: SwitchWiring = { externalRoutes: [], portMacs: [], nodeSwitchPorts: new Map() };

const MAX_PORT = 511;

const macRe = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * A Node as the switch needs it. The switch port is the operator's
 * annotation if there is one, else the topology map's entry; the uplink MAC
 * is what the node agent published. Without both, no routes to the node.
 */
export function nodeInfoFromNode(node: V1Node, topology: ReadonlyMap<string, number> = NO_WIRING.nodeSwitchPorts): { node: NodeInfo; problems: string[] } {
  const name = node.metadata?.name ?? '';
  const problems: string[] = [];
  const internalIPs: string[] = [];
  for (const a of node.status?.addresses ?? []) {
    if (a.type !== 'InternalIP') continue;
    const ip = canonicalIp(a.address);
    if (ip) internalIPs.push(ip.ip);
    else problems.push(`Node ${name}: status.addresses: InternalIP ${JSON.stringify(a.address)} is not an IP address`);
  }
  const podCIDRs: { ip: string; prefixLen: number }[] = [];
  const cidrs = node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (p) {
      if (!podCIDRs.some((x) => x.ip === p.ip && x.prefixLen === p.prefixLen)) podCIDRs.push({ ip: p.ip, prefixLen: p.prefixLen });
    } else problems.push(`Node ${name}: spec.podCIDRs: ${JSON.stringify(c)} is not a CIDR`);
  }
  const ann = node.metadata?.annotations ?? {};
  let switchPort: number | undefined;
  let uplinkMac: string | undefined;
  const portText = ann[switchPortAnnotation];
  if (portText !== undefined) {
    if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > MAX_PORT) {
      problems.push(`Node ${name}: annotation ${switchPortAnnotation}=${JSON.stringify(portText)} is not a switch port number (1..${MAX_PORT}): no routes to this node`);
    } else switchPort = Number(portText);
  } else if (topology.has(name)) switchPort = topology.get(name);
  else problems.push(`Node ${name}: no switch port: add it to the controller's topology (--node-switch-port ${name}=PORT, chart value nodeSwitchPorts) or annotate the Node with ${switchPortAnnotation}: no routes to this node`);
  const macText = ann[uplinkMacAnnotation]?.toLowerCase();
  if (macText === undefined) problems.push(`Node ${name}: annotation ${uplinkMacAnnotation} missing (the node agent publishes it once it runs there): no routes to this node`);
  else if (!macRe.test(macText)) problems.push(`Node ${name}: annotation ${uplinkMacAnnotation}=${JSON.stringify(macText)} is not a MAC address`);
  else uplinkMac = macText;
  if (switchPort === undefined || uplinkMac === undefined) {
    switchPort = undefined;
    uplinkMac = undefined;
  }
  return { node: { name, internalIPs, podCIDRs, switchPort, uplinkMac }, problems };
}

/** Parses the `--node-switch-port NODE=PORT` flag value; throws a message naming the part that is wrong. */
export function parseNodeSwitchPort(text: string): { node: string; port: number } {
  const m = /^([^=]+)=(\d+)$/.exec(text);
  if (!m) throw new Error(`--node-switch-port ${JSON.stringify(text)}: expected NODE=PORT`);
  const port = Number(m[2]);
  if (port < 1 || port > MAX_PORT) throw new Error(`--node-switch-port ${JSON.stringify(text)}: port ${port} out of range (1..${MAX_PORT})`);
  return { node: m[1], port };
}

/** Parses the `--external-route CIDR=PORT,MAC` flag value; throws a message naming the part that is wrong. */
export function parseExternalRoute(text: string): ExternalRoute {
  const m = /^([^=]+)=(\d+),([0-9a-fA-F:]+)$/.exec(text);
  if (!m) throw new Error(`--external-route ${JSON.stringify(text)}: expected CIDR=PORT,MAC`);
  const cidr = parseCidr(m[1].includes('/') ? m[1] : `${m[1]}/${m[1].includes(':') ? 128 : 32}`);
  if (!cidr) throw new Error(`--external-route ${JSON.stringify(text)}: ${JSON.stringify(m[1])} is not a CIDR`);
  const port = Number(m[2]);
  if (port < 1 || port > MAX_PORT) throw new Error(`--external-route ${JSON.stringify(text)}: port ${port} out of range (1..${MAX_PORT})`);
  const mac = m[3].toLowerCase();
  if (!macRe.test(mac)) throw new Error(`--external-route ${JSON.stringify(text)}: ${JSON.stringify(m[3])} is not a MAC address`);
  return { prefix: cidr.ip, prefixLen: cidr.prefixLen, port, mac };
}

/** Parses the `--port-mac PORT=MAC` flag value; throws a message naming the part that is wrong. */
export function parsePortMac(text: string): PortMac {
  const m = /^(\d+)=([0-9a-fA-F:]+)$/.exec(text);
  if (!m) throw new Error(`--port-mac ${JSON.stringify(text)}: expected PORT=MAC`);
  const port = Number(m[1]);
  if (port < 1 || port > MAX_PORT) throw new Error(`--port-mac ${JSON.stringify(text)}: port ${port} out of range (1..${MAX_PORT})`);
  const mac = m[2].toLowerCase();
  if (!macRe.test(mac)) throw new Error(`--port-mac ${JSON.stringify(text)}: ${JSON.stringify(m[2])} is not a MAC address`);
  return { port, mac };
}
