// `talaria node connections`: the connection state a node holds, read from
// the node agent's pinned maps (run it on the node, e.g. in the agent's pod)
// and named: each client connection with its Service and the backend it is
// pinned to, each reply entry of a local backend, each ClientIP affinity.
// Read-only: it opens the pins, loads no program.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { CoreV1Api } from '@kubernetes/client-node';
import { readDesiredInput, userKubeconfig } from './cluster.js';
import { UserError } from './errors.js';
import { BpfMap } from '../bpf/loader/map.js';
import { DEFAULT_PIN_DIR } from '../bpf/loader/pin.js';
import { HOST_MAPS, hostAffinityKey, hostConn, hostFlow, hostReply } from '../bpf/layouts/host-maps.js';
import type { HostAffinityKey, HostConn, HostFlow, HostReply } from '../bpf/layouts/host-maps.js';
import type { DesiredInput } from '../controller/desired/desired-state.js';
import { frontendCandidates } from '../proxy/frontends.js';

export interface NodeEntries {
  conns: [HostFlow, HostConn][];
  replies: [HostFlow, HostReply][];
  affinity: [HostAffinityKey, HostConn][];
}

/** Names for addresses: Services by frontend, pods by IP. */
export interface Names {
  service(addr: string, port: number, proto: number): string | undefined;
  pod(ip: string): string | undefined;
}

const PROTO: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };

/** The pin of `map` in dir (its name carries its layout version: `<map>-v<hash>`). */
function pinOf(dir: string, map: string): string {
  const names = readdirSync(dir).filter((n) => n === map || n.startsWith(`${map}-v`));
  if (names.length === 0) throw new UserError(`${dir}: no ${map} pinned here (is this the node agent's --pin-dir?)`);
  return join(dir, names.sort().at(-1)!);
}

export function readNodeEntries(pinDir: string): NodeEntries {
  const open = <K, V>(map: string, k: Parameters<typeof BpfMap.openPinned<K, V>>[1], v: Parameters<typeof BpfMap.openPinned<K, V>>[2]): [K, V][] => {
    const m = BpfMap.openPinned(pinOf(pinDir, map), k, v);
    try {
      return [...m.entries()];
    } finally {
      m.close();
    }
  };
  return { conns: open(HOST_MAPS.conns, hostFlow, hostConn), replies: open(HOST_MAPS.replies, hostFlow, hostReply), affinity: open(HOST_MAPS.affinity, hostAffinityKey, hostConn) };
}

export function namesFrom(input: DesiredInput, pods: readonly { ip: string; name: string }[]): Names {
  const services = new Map<string, string>();
  for (const r of input.services.values()) {
    for (const sp of r.ports) for (const f of frontendCandidates(sp, input.nodes)) services.set(`${f.addr}|${f.port}|${sp.protocol}`, sp.key);
  }
  const byIp = new Map(pods.map((p) => [p.ip, p.name]));
  return { service: (addr, port, proto) => services.get(`${addr}|${port}|${PROTO[proto] ?? proto}`), pod: (ip) => byIp.get(ip) };
}

function idle(lastSeenNs: bigint, nowNs: bigint): string {
  const s = Number(nowNs - lastSeenNs) / 1e9;
  return s < 60 ? `${s.toFixed(0)}s` : s < 3600 ? `${(s / 60).toFixed(0)}m` : `${(s / 3600).toFixed(1)}h`;
}

export function renderNodeEntries(e: NodeEntries, names: Names, nowNs: bigint): string {
  const who = (ip: string, port?: number): string => `${ip}${port === undefined ? '' : `:${port}`}${names.pod(ip) ? ` (${names.pod(ip)})` : ''}`;
  const svc = (addr: string, port: number, proto: number): string => `${names.service(addr, port, proto) ?? `unknown Service`} ${addr}:${port}/${PROTO[proto] ?? proto}`;
  const backend = (c: { frontend_id: number; backend_id: number; nat_addr?: string; nat_port?: number }): string => {
    if (c.nat_addr && c.nat_addr !== '0.0.0.0') return `local endpoint ${who(c.nat_addr, c.nat_port)}`;
    // The switch's id of the backend (talaria service list --switch shows the switch's backends).
    return `backend ${c.backend_id} of frontend ${c.frontend_id}`;
  };
  const out = [`Connections from this node's pods (${e.conns.length}):`];
  for (const [k, v] of e.conns) out.push(`  ${who(k.saddr, k.sport)} -> ${svc(k.daddr, k.dport, k.proto)} -> ${backend(v)}, idle ${idle(v.last_seen_ns, nowNs)}`);
  out.push(`Replies of this node's backends (${e.replies.length}):`);
  for (const [k, v] of e.replies) out.push(`  ${who(k.saddr, k.sport)} -> ${who(v.orig_saddr, k.dport)} for ${svc(v.fe_addr, v.fe_port, k.proto)}, idle ${idle(v.last_seen_ns, nowNs)}`);
  out.push(`ClientIP affinity (${e.affinity.length}):`);
  for (const [k, v] of e.affinity) out.push(`  ${who(k.client)} -> ${svc(k.fe.addr, k.fe.port, k.fe.proto)} -> ${backend(v)}, idle ${idle(v.last_seen_ns, nowNs)}`);
  return out.join('\n');
}

export const nodeCommand = new Command('node').description("inspect a node's Talaria state (run it on the node)").addCommand(
  new Command('connections')
    .description("the node's connection, reply and affinity entries, with Service and pod names")
    .option('--pin-dir <dir>', "the node agent's --pin-dir", DEFAULT_PIN_DIR)
    .option('--kubeconfig <file>', 'kubeconfig, to name Services and pods (default: $KUBECONFIG, ~/.kube/config, in-cluster; unreachable: addresses only)')
    .action(async (f: { pinDir: string; kubeconfig?: string }) => {
      let entries: NodeEntries;
      try {
        entries = readNodeEntries(f.pinDir);
      } catch (e) {
        throw e instanceof UserError ? e : new UserError(`reading the maps in ${f.pinDir}: ${(e as Error).message}`);
      }
      let names: Names = { service: () => undefined, pod: () => undefined };
      try {
        const kc = userKubeconfig(f.kubeconfig);
        const [input, pods] = await Promise.all([readDesiredInput(kc), kc.makeApiClient(CoreV1Api).listPodForAllNamespaces()]);
        names = namesFrom(input, pods.items.flatMap((p) => (p.status?.podIP && !p.spec?.hostNetwork ? [{ ip: p.status.podIP, name: `${p.metadata?.namespace}/${p.metadata?.name}` }] : [])));
      } catch (e) {
        process.stderr.write(`(no names: the API server could not be read: ${(e as Error).message.split('\n')[0]})\n`);
      }
      process.stdout.write(`${renderNodeEntries(entries, names, process.hrtime.bigint())}\n`);
    }),
);
