// What runs inside a node's network namespace, as hostNetwork pods run on a
// real node: the relay that makes the API server reachable there, kube-proxy
// (baseline modes) and Talaria's node agent (talaria mode); and the relay the
// other way, that lets a Prometheus in the root namespace scrape an agent.
//
// The API server listens on the root namespace's loopback, which a node
// namespace cannot reach, and the testbed never touches the root namespace's
// interfaces. So the relay crosses by the filesystem instead: socat in the
// root namespace listens on a unix socket and connects to the API server;
// socat in each node namespace listens on 127.0.0.1:6443 there and connects
// to that socket. TLS passes through untouched (the API server's certificate
// names 127.0.0.1).
//
// Processes enter the namespace with `nsenter --net` rather than `ip netns
// exec`, which would also remount /sys and so hide the host's bpffs (where the
// node agent pins its maps), unlike a hostNetwork pod.
import { join } from 'node:path';
import { spawnTracked } from './processes.js';
import type { TrackedProcess } from './state.js';

/** Where the API server answers inside every node namespace. */
export const NODE_API_SERVER = 'https://127.0.0.1:6443';

/** argv that runs argv inside the network namespace `netns` (and nothing else changed). */
export function inNodeNetns(netns: string, argv: readonly string[]): string[] {
  return ['nsenter', `--net=/run/netns/${netns}`, '--', ...argv];
}

/** The root namespace's half of the relay: unix socket -> the API server. */
export function startRelayHub(apiServerUrl: string, socket: string, logDir: string): TrackedProcess {
  const u = new URL(apiServerUrl);
  return spawnTracked('api-relay', ['socat', `UNIX-LISTEN:${socket},fork,unlink-early,mode=600`, `TCP:${u.hostname}:${u.port}`], join(logDir, 'api-relay.log'));
}

/** A node's half of the relay: 127.0.0.1:6443 in the node namespace -> the unix socket. */
export function startNodeRelay(node: string, netns: string, socket: string, logDir: string): TrackedProcess {
  return spawnTracked(
    `api-relay-${node}`,
    inNodeNetns(netns, ['socat', 'TCP-LISTEN:6443,bind=127.0.0.1,reuseaddr,fork', `UNIX-CONNECT:${socket}`]),
    join(logDir, `api-relay-${node}.log`),
  );
}

/**
 * A port of the node namespace's loopback (`target`, e.g. the agent's
 * 127.0.0.1:10249) made reachable at 127.0.0.1:`rootPort` in the root
 * namespace: socat in the node listens on a unix socket and connects to the
 * target; socat in the root namespace listens on the port and connects to the
 * socket.
 */
export function startNodePortRelay(o: { name: string; netns: string; target: string; rootPort: number; dir: string }): TrackedProcess[] {
  const socket = join(o.dir, `${o.name}.sock`);
  return [
    spawnTracked(`${o.name}-node`, inNodeNetns(o.netns, ['socat', `UNIX-LISTEN:${socket},fork,unlink-early,mode=600`, `TCP:${o.target}`]), join(o.dir, `${o.name}-node.log`)),
    spawnTracked(o.name, ['socat', `TCP-LISTEN:${o.rootPort},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${socket}`], join(o.dir, `${o.name}.log`)),
  ];
}
