// `talaria controller` as a process: flags parsed, programs the switch over
// mutual TLS as the only writer the switch allows, serves /healthz, exits
// cleanly on SIGTERM.
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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPki } from '../p4/testing/pki.js';


void test('talaria controller programs the switch and stops on SIGTERM', async () => {
  const api = await TestApiServer.start();
  const dir = mkdtempSync(join(tmpdir(), 'talaria-controller-pki-'));
  const pki = createPki(dir);
  const serverCert = pki.issue('switch', { server: { ips: ['127.0.0.1'] } });
  const controllerCert = pki.issue('talaria-controller');
  const server = new P4RuntimeServer({ deviceId: 1, target: new MemoryTarget(), transport: { kind: 'mtls', caFile: pki.caFile, ...serverCert }, access: { writers: ['talaria-controller'] } });
  const address = `127.0.0.1:${await server.start('127.0.0.1:0')}`;
  const healthz = await freePort();
  await api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
  const argv = talariaArgv([
    'controller',
    '--kubeconfig', api.kubeconfigPath,
    '--switch', address,
    '--switch-ca-file', pki.caFile,
    '--switch-cert-file', controllerCert.certFile,
    '--switch-key-file', controllerCert.keyFile,
    '--external-route', '203.0.113.0/24=3,02:00:00:00:00:09',
    '--healthz-bind-address', `127.0.0.1:${healthz}`,
    '--metrics-bind-address', '',
    '--leader-elect-lease-duration', '2s',
  ]);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // The test reads with a certificate the switch does not let write.
  const client = new P4RuntimeClient({ address, deviceId: 1, transport: { kind: 'mtls', caFile: pki.caFile, ...pki.issue('reader') } });
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
    rmSync(dir, { recursive: true, force: true });
  }
});
