// The built-in `talaria/echo` image: a tiny server, run inside a pod's
// namespace, that tells a client which pod answered and which address it saw.
// TCP ports speak HTTP/1.1 (keep-alive) and answer every request with
// {"pod","node","client"}; UDP ports answer every datagram with the same JSON.
// Node builtins only, so that a pod starts in a fraction of a second.
//
// usage: node echo.js --pod NAME --node NODE [--tcp P1,P2] [--udp P1,P2]
import { createServer } from 'node:http';
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    pod: { type: 'string', default: '' },
    node: { type: 'string', default: '' },
    tcp: { type: 'string', default: '' },
    udp: { type: 'string', default: '' },
  },
});

function ports(list: string): number[] {
  return list
    .split(',')
    .filter((p) => p !== '')
    .map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`echo: bad port "${p}"`);
      return n;
    });
}

function body(client: string): string {
  return JSON.stringify({ pod: values.pod, node: values.node, client }) + '\n';
}

for (const port of ports(values.tcp)) {
  const server = createServer((req, res) => {
    const client = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const text = body(client);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    // Drain request bodies so that keep-alive connections stay usable.
    req.resume();
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '0.0.0.0');
}

for (const port of ports(values.udp)) {
  const sock = createSocket('udp4');
  sock.on('message', (_msg, rinfo) => {
    sock.send(body(`${rinfo.address}:${rinfo.port}`), rinfo.port, rinfo.address);
  });
  sock.bind(port, '0.0.0.0');
}

// Graceful termination as a pod with a preStop drain does it: keep serving
// (new connections too, which kube-proxy may still send to a serving
// terminating endpoint) until the kubelet's SIGKILL at the end of the grace
// period.
process.on('SIGTERM', () => {
  // Nothing to do: the grace period ends with SIGKILL.
});
