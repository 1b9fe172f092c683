// The health check node ports as a load balancer probes them: kube-proxy's
// status codes, body and headers, listeners that follow the Services, and
// a port that cannot be bound not stopping the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { freePort } from '../testbed/free-port.js';
import { ServiceHealthServers } from './service-health-servers.js';

test('200 with local endpoints, 503 without or when the agent is unhealthy; ports follow the Services', async () => {
  let healthy = true;
  const logs: string[] = [];
  const servers = new ServiceHealthServers({ proxyHealthy: () => healthy, bindAddress: '127.0.0.1', log: (l) => logs.push(l) });
  const [a, b] = [await freePort(), await freePort()];
  const probe = async (port: number): Promise<[number, unknown, string | null, string | null]> => {
    const r = await fetch(`http://127.0.0.1:${port}/anything`);
    return [r.status, await r.json(), r.headers.get('x-load-balancing-endpoint-weight'), r.headers.get('content-type')];
  };
  try {
    await servers.update(new Map([[a, { namespace: 'default', name: 'web', localEndpoints: 2 }], [b, { namespace: 'shop', name: 'cart', localEndpoints: 0 }]]));
    assert.deepEqual(await probe(a), [200, { service: { namespace: 'default', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true }, '2', 'application/json']);
    assert.deepEqual((await probe(b)).slice(0, 2), [503, { service: { namespace: 'shop', name: 'cart' }, localEndpoints: 0, serviceProxyHealthy: true }]);
    healthy = false;
    assert.deepEqual((await probe(a)).slice(0, 2), [503, { service: { namespace: 'default', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: false }]);
    healthy = true;
    // The last local endpoint goes; the other Service is deleted: its port closes.
    await servers.update(new Map([[a, { namespace: 'default', name: 'web', localEndpoints: 0 }]]));
    assert.equal((await probe(a))[0], 503);
    await assert.rejects(fetch(`http://127.0.0.1:${b}/`), /fetch failed/);
    assert.deepEqual([...servers.ports.keys()], [a]);
  } finally {
    await servers.close();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${a}/`), /fetch failed/);
  assert.deepEqual(logs, []);
});

test('a port someone else holds is reported and retried; the others are served', async () => {
  const taken = createServer();
  const busy = await freePort();
  await new Promise<void>((r) => taken.listen(busy, '127.0.0.1', r));
  const logs: string[] = [];
  const servers = new ServiceHealthServers({ proxyHealthy: () => true, bindAddress: '127.0.0.1', log: (l) => logs.push(l) });
  const free = await freePort();
  const checks = new Map([[busy, { namespace: 'default', name: 'a', localEndpoints: 1 }], [free, { namespace: 'default', name: 'b', localEndpoints: 1 }]]);
  try {
    await servers.update(checks);
    assert.equal((await fetch(`http://127.0.0.1:${free}/`)).status, 200);
    assert.match(logs.join('\n'), new RegExp(`Service default/a spec.healthCheckNodePort ${busy}: cannot listen: .*EADDRINUSE`));
    await servers.update(checks);
    assert.equal(logs.length, 1, 'a port that still cannot be bound is not logged again');
    await new Promise((r) => taken.close(r));
    await servers.update(checks);
    assert.equal((await fetch(`http://127.0.0.1:${busy}/`)).status, 200, 'bound once the port is free');
  } finally {
    await servers.close();
    taken.close();
  }
});
