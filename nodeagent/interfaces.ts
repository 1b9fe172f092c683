// Finding things in the node's kernel with iproute2's JSON output: each
// pod's host-side veth (the veth whose peer, in a named pod namespace,
// carries the pod's IP), the uplink and the switch's MAC (the neighbour
// entry of the uplink's default gateway). Namespaced calls use `ip -n`, so
// the agent itself stays in the root namespace.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const SCAN_PARALLELISM = 8;

/** A pod's end of the fast path, as the kernel sees it. */
export interface PodInterface {
  /** Host-side veth in the node namespace. */
  hostIfname: string;
  hostIfindex: number;
  hostMac: string;
  /** The pod's namespace (an `ip netns` name) and its interface there. */
  podNetns: string;
  podIfname: string;
  podMac: string;
  podIPs: string[];
}

export interface UplinkInfo {
  ifname: string;
  ifindex: number;
  mac: string;
  /** The switch's MAC: neighbour entry of the default gateway (or the override). */
  gatewayMac: string;
  gatewayIP: string | undefined;
}

interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  mtu?: number;
  link_index?: number;
  link_netnsid?: number;
  addr_info?: Array<{ family: string; local: string }>;
}

async function ipJson<T>(netns: string | undefined, args: readonly string[]): Promise<T> {
  const argv = [...(netns ? ['-n', netns] : []), '-j', ...args];
  const { stdout } = await exec('ip', argv, { maxBuffer: 64 << 20 });
  return (stdout.trim() ? JSON.parse(stdout) : []) as T;
}

/** Whether an `ip` failure means "that interface/namespace is gone". */
export function isGone(err: unknown): boolean {
  const text = `${(err as { stderr?: string }).stderr ?? ''} ${(err as Error).message ?? ''}`;
  return /does not exist|Cannot find device|No such file|Cannot open network namespace/i.test(text);
}

/**
 * Every veth in the node namespace whose peer lives in a named namespace,
 * with the peer's MAC and IPv4 addresses. One `ip` call for the node's links,
 * one for the namespace ids, one per pod namespace.
 */
export async function listPodInterfaces(nodeNetns: string | undefined): Promise<PodInterface[]> {
  const links = await ipJson<IpLink[]>(nodeNetns, ['link', 'show', 'type', 'veth']);
  const ids = await ipJson<Array<{ nsid: number; name?: string }>>(nodeNetns, ['netns', 'list-id']);
  const nsName = new Map(ids.filter((i) => i.name).map((i) => [i.nsid, i.name!]));
  const out: PodInterface[] = [];
  const byNs = new Map<string, IpLink[]>();
  for (const l of links) {
    if (l.link_netnsid === undefined || l.link_index === undefined) continue;
    const ns = nsName.get(l.link_netnsid);
    if (!ns) continue;
    let list = byNs.get(ns);
    if (!list) byNs.set(ns, (list = []));
    list.push(l);
  }
  // A few `ip` processes at a time: a node may have a few hundred pods.
  const queue = [...byNs];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) await scan(next);
  };
  const scan = async ([ns, hostLinks]: [string, IpLink[]]): Promise<void> => {
    let peers: IpLink[];
    try {
      peers = await ipJson<IpLink[]>(ns, ['addr', 'show']);
    } catch (err) {
      if (isGone(err)) return; // the pod went away meanwhile
      throw err;
    }
    for (const h of hostLinks) {
      const peer = peers.find((p) => p.ifindex === h.link_index);
      if (!peer) continue;
      out.push({
        hostIfname: h.ifname,
        hostIfindex: h.ifindex,
        hostMac: h.address ?? '',
        podNetns: ns,
        podIfname: peer.ifname,
        podMac: peer.address ?? '',
        podIPs: (peer.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_PARALLELISM, queue.length) }, worker));
  return out.sort((a, b) => a.hostIfindex - b.hostIfindex);
}

/** ifindex, MAC and MTU of one interface; undefined when it does not exist. */
export async function linkInfo(netns: string | undefined, ifname: string): Promise<{ ifindex: number; mac: string; mtu: number } | undefined> {
  try {
    const [l] = await ipJson<IpLink[]>(netns, ['link', 'show', 'dev', ifname]);
    return l ? { ifindex: l.ifindex, mac: l.address ?? '', mtu: l.mtu ?? 0 } : undefined;
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/** The uplink and the switch's MAC behind it. */
export async function uplinkInfo(netns: string | undefined, ifname: string, gatewayMacOverride?: string): Promise<UplinkInfo> {
  const link = await linkInfo(netns, ifname);
  if (!link) throw new Error(`uplink ${ifname}${netns ? ` in netns ${netns}` : ''} does not exist`);
  const routes = await ipJson<Array<{ dst: string; gateway?: string; dev?: string }>>(netns, ['-4', 'route', 'show', 'default', 'dev', ifname]);
  const gatewayIP = routes.find((r) => r.gateway)?.gateway;
  let gatewayMac = gatewayMacOverride;
  if (!gatewayMac) {
    if (!gatewayIP) throw new Error(`uplink ${ifname}: no default route via it to find the switch's MAC (use --gateway-mac)`);
    const neigh = await ipJson<Array<{ dst: string; lladdr?: string }>>(netns, ['-4', 'neigh', 'show', gatewayIP, 'dev', ifname]);
    gatewayMac = neigh.find((n) => n.lladdr)?.lladdr;
    if (!gatewayMac) throw new Error(`uplink ${ifname}: no neighbour entry for the gateway ${gatewayIP} (use --gateway-mac)`);
  }
  return { ifname, ifindex: link.ifindex, mac: link.mac, gatewayMac, gatewayIP };
}
