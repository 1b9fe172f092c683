// Builds and tears down the testbed's namespaces and links (see
// addressing.ts for the plan). Everything is made with `ip -batch` per
// namespace so that a 10-node testbed costs a few dozen forks, not hundreds.
import {
  BASELINE_BRIDGE,
  BASELINE_GATEWAY,
  CNI_BRIDGE,
  EXTERNAL_IP_CIDR,
  FLANNEL_DEVICE,
  FLANNEL_PORT,
  FLANNEL_VNI,
  POD_MTU,
  TALARIA_UPLINK_MTU,
  UPLINK,
  VXLAN_UPLINK_MTU,
  externalAddressing,
  netnsPrefix,
  nodeAddressing,
  switchNetns,
  underlayPrefix,
} from './addressing.js';
import type { Mode, NodeAddressing } from './addressing.js';
import { bridgeBatch, ipBatch, listNetns, netnsPids, run, sysctl } from './exec.js';

export interface TopologySpec {
  mode: Mode;
  nodes: number;
}

export interface Topology {
  mode: Mode;
  nodes: NodeAddressing[];
  /** Interfaces of tb-switch in P4 port order: node 1..N, then the external one. */
  switchPorts: string[];
}

/** The uplink MTU of a mode: room for the shim (talaria) or for VXLAN (baselines). */
export function uplinkMtu(mode: Mode): number {
  return mode === 'talaria' ? TALARIA_UPLINK_MTU : VXLAN_UPLINK_MTU;
}

export function describeTopology(spec: TopologySpec): Topology {
  const nodes = Array.from({ length: spec.nodes }, (_, i) => nodeAddressing(i + 1));
  return { mode: spec.mode, nodes, switchPorts: [...nodes.map((n) => n.switchPort), externalAddressing().switchPort] };
}

/**
 * Creates the switch, node and external namespaces and wires them. On failure
 * the caller tears down with destroyTopology() (names are prefixed, so it
 * finds everything).
 */
export async function createTopology(spec: TopologySpec): Promise<Topology> {
  const topo = describeTopology(spec);
  const { mode, nodes } = topo;
  const ext = externalAddressing();
  const mtu = uplinkMtu(mode);
  const plen = underlayPrefix(mode);

  await ipBatch(null, [switchNetns(), ext.netns, ...nodes.map((n) => n.netns)].map((ns) => `netns add ${ns}`));

  // The switch: one veth pair per node (peer lands in the node as eth0), one
  // for the external client.
  const sw: string[] = ['link set lo up'];
  for (const n of nodes) {
    sw.push(`link add ${n.switchPort} address ${n.switchPortMac} mtu ${mtu} type veth peer name ${UPLINK} address ${n.uplinkMac} mtu ${mtu} netns ${n.netns}`);
  }
  sw.push(`link add ${ext.switchPort} address ${ext.switchPortMac} mtu ${mtu} type veth peer name ${UPLINK} address ${ext.mac} mtu ${mtu} netns ${ext.netns}`);
  if (mode === 'talaria') {
    // Routed ports: the switch owns an address on each link (the nodes' gateway).
    for (const n of nodes) sw.push(`addr add ${n.switchIP}/${plen} dev ${n.switchPort}`);
    sw.push(`addr add ${ext.switchIP}/${plen} dev ${ext.switchPort}`);
  } else {
    sw.push(`link add ${BASELINE_BRIDGE} mtu ${mtu} type bridge`);
    for (const p of topo.switchPorts) sw.push(`link set ${p} master ${BASELINE_BRIDGE}`);
    // The nodes' default gateway: a real node has a default route, so that a
    // packet to a Service IP without endpoints reaches kube-proxy's REJECT in
    // the filter hooks instead of failing the route lookup (ENETUNREACH).
    // tb-switch does not forward: whatever reaches it for elsewhere is dropped.
    sw.push(`addr add ${BASELINE_GATEWAY}/${plen} dev ${BASELINE_BRIDGE}`);
    sw.push(`link set ${BASELINE_BRIDGE} up`);
  }
  for (const p of topo.switchPorts) sw.push(`link set ${p} up`);
  await ipBatch(switchNetns(), sw);
  // The switch forwards with its own pipeline (talaria) or as a bridge: the
  // kernel must not route between ports nor run bridged frames through netfilter.
  await sysctl(switchNetns(), { 'net.ipv4.ip_forward': 0, 'net.bridge.bridge-nf-call-iptables': 0 });

  const extLines = ['link set lo up', `addr add ${ext.ip}/${plen} dev ${UPLINK}`, `link set ${UPLINK} up`];
  if (mode === 'talaria') {
    extLines.push(`neigh replace ${ext.switchIP} lladdr ${ext.switchPortMac} dev ${UPLINK} nud permanent`);
    extLines.push(`route add default via ${ext.switchIP} dev ${UPLINK}`);
  } else if (nodes.length > 0) {
    // ExternalIPs are routed to a node (node 1), where kube-proxy's rules catch them.
    extLines.push(`route add ${EXTERNAL_IP_CIDR} via ${nodes[0]!.ip} dev ${UPLINK}`);
  }
  await ipBatch(ext.netns, extLines);

  await Promise.all(nodes.map((n) => wireNode(mode, n, nodes, mtu, plen)));
  return topo;
}

async function wireNode(mode: Mode, n: NodeAddressing, all: readonly NodeAddressing[], mtu: number, plen: number): Promise<void> {
  const lines = [
    'link set lo up',
    `addr add ${n.ip}/${plen} dev ${UPLINK}`,
    `link set ${UPLINK} up`,
    `link add ${CNI_BRIDGE} mtu ${POD_MTU} type bridge`,
    `addr add ${n.gateway}/24 dev ${CNI_BRIDGE}`,
    `link set ${CNI_BRIDGE} up`,
  ];
  if (mode === 'talaria') {
    // The node agent reads the switch's MAC from this neighbour entry.
    lines.push(`neigh replace ${n.switchIP} lladdr ${n.switchPortMac} dev ${UPLINK} nud permanent`);
    lines.push(`route add default via ${n.switchIP} dev ${UPLINK}`);
  } else {
    // flannel's vxlan backend: flannel.1 carries 10.244.<n>.0/32; each peer
    // gets a route via its flannel.1 address, a permanent neighbour (the
    // peer's VTEP MAC) and an FDB entry sending that MAC to the peer's IP.
    lines.push(
      `link add ${FLANNEL_DEVICE} address ${n.flannelMac} mtu ${POD_MTU} type vxlan id ${FLANNEL_VNI} local ${n.ip} dev ${UPLINK} dstport ${FLANNEL_PORT} nolearning`,
      `addr add 10.244.${n.index}.0/32 dev ${FLANNEL_DEVICE}`,
      `link set ${FLANNEL_DEVICE} up`,
      `route add default via ${BASELINE_GATEWAY} dev ${UPLINK}`,
    );
    for (const p of all) {
      if (p.index === n.index) continue;
      lines.push(`neigh replace 10.244.${p.index}.0 lladdr ${p.flannelMac} dev ${FLANNEL_DEVICE} nud permanent`);
      lines.push(`route add ${p.podCIDR} via 10.244.${p.index}.0 dev ${FLANNEL_DEVICE} onlink`);
    }
  }
  await ipBatch(n.netns, lines);
  if (mode !== 'talaria') {
    await bridgeBatch(
      n.netns,
      all.filter((p) => p.index !== n.index).map((p) => `fdb append ${p.flannelMac} dev ${FLANNEL_DEVICE} dst ${p.ip}`),
    );
  }
  await sysctl(n.netns, {
    'net.ipv4.ip_forward': 1,
    'net.ipv4.conf.all.rp_filter': 0,
    'net.ipv4.conf.default.rp_filter': 0,
    // kube-proxy needs bridged pod traffic to see its NAT rules (hairpin and
    // same-node replies); talaria mode has no rules there.
    'net.bridge.bridge-nf-call-iptables': mode === 'talaria' ? 0 : 1,
  });
}

export interface PodWiring {
  node: NodeAddressing;
  netns: string;
  hostVeth: string;
  ip: string;
}

/** A pod namespace wired the way the bridge CNI plugin wires it. */
export async function addPodNetwork(p: PodWiring): Promise<{ mac: string }> {
  await ipBatch(null, [`netns add ${p.netns}`]);
  try {
    await ipBatch(p.node.netns, [
      `link add ${p.hostVeth} mtu ${POD_MTU} type veth peer name eth0 netns ${p.netns}`,
      `link set ${p.hostVeth} master ${CNI_BRIDGE}`,
      // flannel's CNI config sets hairpinMode: a pod reaching itself through
      // a Service is DNATed back out of the port it came in by.
      `link set ${p.hostVeth} type bridge_slave hairpin on`,
      `link set ${p.hostVeth} up`,
    ]);
    await ipBatch(p.netns, [
      'link set lo up',
      `addr add ${p.ip}/24 dev eth0`,
      'link set eth0 up',
      `route add default via ${p.node.gateway} dev eth0`,
    ]);
    const out = await run(['ip', '-n', p.netns, '-j', 'link', 'show', 'dev', 'eth0']);
    const mac = (JSON.parse(out.stdout) as { address: string }[])[0]?.address ?? '';
    return { mac };
  } catch (err) {
    await removePodNetwork(p.netns);
    throw err;
  }
}

/** Kills what runs in a pod namespace and deletes it (its veth goes with it). */
export async function removePodNetwork(netns: string): Promise<void> {
  await killNetnsProcesses(netns);
  await ipBatch(null, [`netns del ${netns}`], true);
}

async function killNetnsProcesses(netns: string): Promise<void> {
  for (const pid of await netnsPids(netns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Removes every namespace with the testbed prefix and every process left in
 * them. Idempotent; works from names alone, so it also cleans up after a crash.
 */
export async function destroyTopology(prefix = netnsPrefix()): Promise<string[]> {
  const all = await listNetns(prefix);
  await Promise.all(all.map((ns) => killNetnsProcesses(ns)));
  await ipBatch(null, all.map((ns) => `netns del ${ns}`), true);
  return all;
}
