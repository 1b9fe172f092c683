import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { runProbe } from './probe.js';
import type { Attempt, HeldConnection } from './probe.js';

function echoServer(pod: string) {
  return createServer((req, res) => {
    res.end(JSON.stringify({ pod, node: 'n1', client: `${req.socket.remoteAddress}:${req.socket.remotePort}` }));
  });
}

test('http probes read the echo answer; a closed port is ECONNREFUSED', async () => {
  const srv = echoServer('p1');
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  try {
    const ok = (await runProbe({ kind: 'http', host: '127.0.0.1', port, count: 3 })) as Attempt[];
    assert.equal(ok.length, 3);
    assert.ok(ok.every((a) => a.ok && a.answer?.pod === 'p1'));
    const clients = new Set(ok.map((a) => a.answer!.client));
    assert.equal(clients.size, 3, 'each probe is a new connection');
  } finally {
    srv.close();
  }
  const refused = (await runProbe({ kind: 'http', host: '127.0.0.1', port, count: 1 })) as Attempt[];
  assert.equal(refused[0].error, 'ECONNREFUSED');
});

test('udp probes get the datagram answer; a closed port is refused, not a timeout', async () => {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  sock.on('message', (_m, ri) => sock.send(JSON.stringify({ pod: 'u1', node: 'n1', client: `${ri.address}:${ri.port}` }), ri.port, ri.address));
  const port = sock.address().port;
  const ok = (await runProbe({ kind: 'udp', host: '127.0.0.1', port, count: 2 })) as Attempt[];
  assert.ok(ok.every((a) => a.ok && a.answer?.pod === 'u1'));
  sock.close();
  const refused = (await runProbe({ kind: 'udp', host: '127.0.0.1', port, count: 1, timeoutMs: 1500 })) as Attempt[];
  assert.equal(refused[0].error, 'ECONNREFUSED');
});

test('held connections keep their backend and report when the server goes away', async () => {
  const srv = echoServer('p7');
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  setTimeout(() => srv.closeAllConnections(), 600);
  const held = (await runProbe({ kind: 'hold', host: '127.0.0.1', port, connections: 3, seconds: 1.2, intervalMs: 20 })) as HeldConnection[];
  srv.close();
  assert.equal(held.length, 3);
  for (const h of held) {
    assert.equal(h.firstPod, 'p7');
    assert.equal(h.switches, 0);
    assert.ok(h.requests > 5);
    assert.equal(h.errors, 1, 'the connection closed under it is one error, then it stops');
  }
});

test('connect probes: open and closed ports', async () => {
  const srv = createTcpServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  assert.equal(((await runProbe({ kind: 'connect', host: '127.0.0.1', port })) as Attempt).ok, true);
  srv.close();
  assert.equal(((await runProbe({ kind: 'connect', host: '127.0.0.1', port })) as Attempt).error, 'ECONNREFUSED');
});
