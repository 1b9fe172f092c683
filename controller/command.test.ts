// `talaria controller` as a process: flags parsed, programs the switch,
// serves /healthz, exits cleanly on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { talariaArgv } from '../cli/self.js';
import { TestApiServer } from '../testbed/controlplane/test-api-server.js';
import { P4RuntimeClient, talariaP4Info } from '../p4/client/index.js';
import { MemoryTarget } from '../p4/server/memory-target.js';
import { P4RuntimeServer } from '../p4/server/server.js';
import { entityKey } from './desired/entities.js';
import { EntityCodec } from './switch/codec.js';
import { freePort } from '../testbed/free-port.js';


void test('talaria controller programs the switch and stops on SIGTERM', async () => {
  const api = await TestApiServer.start();
  const server = new P4RuntimeServer({ deviceId: 1, target: new MemoryTarget() });
  const address = `127.0.0.1:${await server.start('127.0.0.1:0')}`;
  const healthz = await freePort();
  await api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
  const argv = talariaArgv([
    'controller',
    '--kubeconfig', api.kubeconfigPath,
    '--switch', address,
    '--external-route', '203.0.113.0/24=3,02:00:00:00:00:09',
    '--healthz-bind-address', `127.0.0.1:${healthz}`,
    '--metrics-bind-address', '',
    '--leader-elect-lease-duration', '2s',
  ]);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const client = new P4RuntimeClient({ address, deviceId: 1 });
  const codec = new EntityCodec(talariaP4Info());
  try {
    const end = Date.now() + 60_000;
    let keys: string[] = [];
    while (Date.now() < end) {
      try {
        keys = (await client.readAll(codec.readAll())).map((e) => codec.decode(e)).map((e) => (e ? entityKey(e) : '?'));
      } catch {
        // no pipeline yet
      }
      if (keys.includes('frontend 10.96.0.10 80 TCP') && keys.includes('route 203.0.113.0/24')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Web and the API server's own `kubernetes` Service, each with its reverse-NAT entry.
    assert.deepEqual(keys.filter((k) => k.startsWith('frontend')).sort(), ['frontend 10.96.0.1 443 TCP', 'frontend 10.96.0.10 80 TCP'], stderr);
    assert.equal(keys.filter((k) => k.startsWith('reverse')).length, 2, stderr);
    assert.ok(keys.includes('route 203.0.113.0/24'), stderr);
    const h = await fetch(`http://127.0.0.1:${healthz}/healthz`);
    assert.equal(h.status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /is the leader/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await client.close();
    await server.stop(100);
    await api.stop();
  }
});
