// Ports for listeners on 127.0.0.1 that must be named before they are bound
// (a process's flags, Prometheus' config).
//
// bind(0) hands out a port from the ephemeral range, the same range connect()
// takes its source ports from. Between the probe and the listener's own bind
// (seconds, for kube-apiserver, which first opens its connections to etcd),
// any outgoing connection on the machine may take that port, and the listener
// exits with "address already in use". Ports below the ephemeral range are
// never handed out by the kernel, so only an explicit bind can take them; and
// this process never hands out the same one twice.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;
/** Kubernetes' NodePort range: kube-proxy holds these open in its namespace, keep clear of them everywhere. */
const NODE_PORTS = { first: 30_000, last: 32_767 };
const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range). */
function ephemeralFloor(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that is free now, outside the ephemeral range, and not handed out before by this process. */
export async function freePort(): Promise<number> {
  const top = Math.min(ephemeralFloor(), NODE_PORTS.first) - 1;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (top - LOWEST + 1));
    if (handedOut.has(port) || (port >= NODE_PORTS.first && port <= NODE_PORTS.last)) continue;
    handedOut.add(port);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free TCP port on 127.0.0.1 between ${LOWEST} and ${top}`);
}
