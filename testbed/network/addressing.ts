// The testbed's addressing plan: one place that says which name, address and
// MAC every piece of the topology has, so that the topology builder, the
// kubelet, the baselines and the talaria processes agree.
//
// Namespaces: tb-switch, tb-node-<n>, tb-pod-<name>, tb-external ("tb-" is
// the default prefix).
// Underlay (198.18.0.0/15, the benchmarking range):
//   node n (1-based)     198.18.<n>.2     uplink `eth0` in tb-node-<n>
//   switch, node n link  198.18.<n>.1     `sw-n<n>` in tb-switch (talaria mode)
//   external client      198.19.0.2       `eth0` in tb-external
//   switch, external     198.19.0.1       `sw-ext` in tb-switch (talaria mode)
// talaria mode: each link is its own /24 (a routed port of the switch), every
//   node and the external namespace have a default route via the switch's
//   address on their link, with a permanent neighbour entry for it.
// baseline modes: tb-switch holds a plain bridge `br0` joining all links; the
//   same addresses with a /15 prefix share one L2 segment.
// Pods: node n owns 10.244.<n>.0/24, `cni0` is 10.244.<n>.1, pods get .2 up.
import { createHash } from 'node:crypto';

/**
 * Prefix of every namespace the testbed makes. TALARIA_TESTBED_PREFIX lets a
 * test run its own testbed beside a user's (with its own state directory).
 */
export function netnsPrefix(): string {
  const p = process.env.TALARIA_TESTBED_PREFIX ?? 'tb-';
  if (!/^[a-z0-9][a-z0-9-]{0,20}$/.test(p)) throw new Error(`TALARIA_TESTBED_PREFIX "${p}" must be 1-21 characters of [a-z0-9-]`);
  return p;
}
export function switchNetns(): string {
  return `${netnsPrefix()}switch`;
}
export function externalNetns(): string {
  return `${netnsPrefix()}external`;
}
export const MAX_NODES = 250;

export const POD_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/12';
export const UNDERLAY_CIDR = '198.18.0.0/15';
/**
 * Where ExternalIPs of Services live: the external client routes this range to
 * node 1 in the baselines (as a real network routes external IPs to nodes);
 * in talaria mode its default route via the switch covers it.
 */
export const EXTERNAL_IP_CIDR = '198.19.200.0/24';
/** Baselines: `br0`'s address in tb-switch, every node's default gateway (tb-switch does not forward). */
export const BASELINE_GATEWAY = '198.18.0.1';
/** The bridge every pod veth joins, in every mode. */
export const CNI_BRIDGE = 'cni0';
/** The node's link to the switch, inside the node namespace. */
export const UPLINK = 'eth0';
export const EXTERNAL_PORT = 'sw-ext';
export const BASELINE_BRIDGE = 'br0';
export const FLANNEL_DEVICE = 'flannel.1';
export const FLANNEL_VNI = 1;
export const FLANNEL_PORT = 8472;

/** Pod MTU, the same in every mode so that the comparison is fair. */
export const POD_MTU = 1500;
/** Talaria: the shim's 12 bytes on top of the pod MTU (DESIGN.md). */
export const TALARIA_UPLINK_MTU = POD_MTU + 12;
/**
 * Baselines: VXLAN adds 50 bytes. Flannel would shrink the pods to 1450;
 * instead the underlay is raised so that pods keep 1500 in every mode.
 */
export const VXLAN_UPLINK_MTU = POD_MTU + 50;

export type Mode = 'talaria' | 'iptables' | 'nftables';
export const MODES: readonly Mode[] = ['talaria', 'iptables', 'nftables'];

export interface NodeAddressing {
  /** 1-based index. */
  index: number;
  /** Kubernetes Node name. */
  name: string;
  netns: string;
  /** InternalIP, on the uplink. */
  ip: string;
  podCIDR: string;
  /** cni0's address: the pods' default gateway. */
  gateway: string;
  /** The switch's address on this node's link (talaria mode). */
  switchIP: string;
  /** Interface name inside tb-switch. */
  switchPort: string;
  uplinkMac: string;
  switchPortMac: string;
  flannelMac: string;
}

function mac(kind: number, a: number, b: number): string {
  // 02: locally administered unicast; 74:62 "tb".
  return ['02', '74', '62', kind, a, b].map((x) => (typeof x === 'string' ? x : x.toString(16).padStart(2, '0'))).join(':');
}

export function nodeName(index: number): string {
  return `node-${index}`;
}

export function nodeAddressing(index: number): NodeAddressing {
  if (!Number.isInteger(index) || index < 1 || index > MAX_NODES) throw new RangeError(`node index ${index} outside 1..${MAX_NODES}`);
  return {
    index,
    name: nodeName(index),
    netns: `${netnsPrefix()}node-${index}`,
    ip: `198.18.${index}.2`,
    podCIDR: `10.244.${index}.0/24`,
    gateway: `10.244.${index}.1`,
    switchIP: `198.18.${index}.1`,
    switchPort: `sw-n${index}`,
    uplinkMac: mac(1, index, 2),
    switchPortMac: mac(1, index, 1),
    flannelMac: mac(2, index, 0),
  };
}

export interface ExternalAddressing {
  netns: string;
  ip: string;
  switchIP: string;
  switchPort: string;
  mac: string;
  switchPortMac: string;
}

/** The external client; its switch port comes after all node ports. */
export function externalAddressing(): ExternalAddressing {
  return { netns: externalNetns(), ip: '198.19.0.2', switchIP: '198.19.0.1', switchPort: EXTERNAL_PORT, mac: mac(3, 0, 2), switchPortMac: mac(3, 0, 1) };
}

/** Prefix length of underlay addresses: a /24 per routed link, or the one shared segment. */
export function underlayPrefix(mode: Mode): number {
  return mode === 'talaria' ? 24 : 15;
}

/** Namespace name of a pod; long names are shortened with a hash so that they stay unique. */
export function podNetns(namespace: string, name: string): string {
  const base = namespace === 'default' ? name : `${namespace}.${name}`;
  const full = `${netnsPrefix()}pod-${base}`;
  if (full.length <= 64) return full;
  const hash = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 10);
  return `${full.slice(0, 53)}-${hash}`;
}

/** Host-side veth name of a pod, like the bridge CNI plugin's `veth<8 hex>` (15 chars max). */
export function podHostVeth(namespace: string, name: string, uid = ''): string {
  return `veth${createHash('sha256').update(`${namespace}/${name}/${uid}`).digest('hex').slice(0, 8)}`;
}

/** The n-th pod address of a node's /24 (host-local IPAM: .2 .. .254). */
export function podIP(node: NodeAddressing, slot: number): string {
  if (slot < 2 || slot > 254) throw new RangeError(`pod slot ${slot} outside 2..254`);
  return `10.244.${node.index}.${slot}`;
}
