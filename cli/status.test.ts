// `talaria status` against a real API server holding a release's objects, and
// a real P4Runtime server as the switch.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestApiServer } from '../testbed/controlplane/test-api-server.js';
import { P4RuntimeClient, talariaP4Info } from '../p4/client/index.js';
import { MemoryTarget } from '../p4/server/memory-target.js';
import { P4RuntimeServer } from '../p4/server/server.js';
import { gatherStatus, healthy, probeSwitch, renderStatus } from './status.js';

const NS = 'kube-system';
const labels = { 'app.kubernetes.io/name': 'talaria', 'app.kubernetes.io/instance': 'talaria' };
const template = (component: string) => ({ metadata: { labels: { ...labels, 'app.kubernetes.io/component': component } }, spec: { containers: [{ name: component, image: 'ghcr.io/talaria-io/talaria:0.1.0' }] } });
const selector = (component: string) => ({ matchLabels: { ...labels, 'app.kubernetes.io/component': component } });

void describe('talaria status', { skip: process.getuid?.() !== 0 && 'needs root (the API server runs in the testbed control plane)' }, () => {
  let api: TestApiServer;
  let sw: P4RuntimeServer;
  let switchAddress: string;
  const now = new Date();

  before(async () => {
    api = await TestApiServer.start();
    sw = new P4RuntimeServer({ deviceId: 1, target: new MemoryTarget(), p4info: talariaP4Info() });
    switchAddress = `127.0.0.1:${await sw.start('127.0.0.1:0')}`;
    await api.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'talaria', namespace: NS }, data: { TALARIA_SWITCH_ADDRESS: switchAddress, TALARIA_SWITCH_DEVICE_ID: '1' } });
    const d = await api.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'talaria-controller', namespace: NS }, spec: { replicas: 2, selector: selector('controller'), template: template('controller') } });
    await api.patchStatus(d, { replicas: 2, readyReplicas: 2 });
    const ds = await api.create({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'talaria-node-agent', namespace: NS }, spec: { selector: selector('node-agent'), template: template('node-agent') } });
    await api.patchStatus(ds, { desiredNumberScheduled: 2, numberReady: 1, currentNumberScheduled: 2, numberMisscheduled: 0 });
    await api.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'talaria-controller', namespace: NS }, spec: { holderIdentity: 'node-1_4242_abc', renewTime: new Date(now.getTime() - 3000).toISOString().replace('Z', '000Z') } }); // MicroTime: 6 digits
    const t = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const [name, status, reason, message] of [['node-1', 'True', 'ProgramsAttached', 'programs attached to eth0'], ['node-2', 'False', 'PreflightFailed', 'uplink eth0 MTU 1500 is below the pod MTU 1500 (cni0) + 12']]) {
      const n = await api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: name! } });
      await api.patchStatus(n, { conditions: [{ type: 'TalariaAgentReady', status, reason, message, lastHeartbeatTime: t, lastTransitionTime: t }] });
    }
  });
  after(async () => {
    await sw?.stop(100);
    await api?.stop();
  });

  void it('reports controllers and leader, the switch, the agents and why a node is not ready', async () => {
    const r = await gatherStatus(api.kubeConfig(), { namespace: NS, release: 'talaria', probe: async () => ({ state: 'talaria.p4', detail: 'cookie 1' }), now });
    assert.equal(r.controller.leader, 'node-1_4242_abc');
    assert.ok(r.controller.leaseAgeSeconds! >= 2 && r.controller.leaseAgeSeconds! < 10, String(r.controller.leaseAgeSeconds));
    assert.deepEqual(r.agents, { desired: 2, ready: 1, notReady: [{ node: 'node-2', status: 'False', reason: 'PreflightFailed', message: 'uplink eth0 MTU 1500 is below the pod MTU 1500 (cni0) + 12' }] });
    assert.equal(healthy(r), false);
    const text = renderStatus(r);
    assert.match(text, /^OK {3}Controller: {3}2\/2 ready, leader node-1_4242_abc, Lease renewed \d s ago$/m);
    assert.match(text, new RegExp(`^OK {3}Switch: {7}${switchAddress} device 1: talaria.p4 \\(cookie 1\\)$`, 'm'));
    assert.match(text, /^FAIL Node agents: {2}1\/2 ready\n {7}node-2: TalariaAgentReady=False PreflightFailed: uplink eth0 MTU 1500/m);
  });

  void it('probes the switch: no pipeline, then talaria.p4 once installed, unreachable when nothing answers', async () => {
    const probe = probeSwitch({ switchInsecurePlaintext: true });
    assert.equal((await probe(switchAddress, '1')).state, 'no pipeline');
    const client = new P4RuntimeClient({ address: switchAddress, deviceId: 1n });
    await client.connect();
    await client.arbitrate();
    await client.setPipeline(talariaP4Info());
    await client.close();
    assert.equal((await probe(switchAddress, '1')).state, 'talaria.p4');
    assert.equal((await probe('127.0.0.1:1', '1')).state, 'unreachable');
    // Without TLS files or an explicit plaintext flag the switch is not dialled, and the status says why.
    assert.deepEqual(await probeSwitch({})(switchAddress, '1'), { state: 'unreachable', detail: 'P4Runtime needs mutual TLS (--switch-ca-file, --switch-cert-file, --switch-key-file) or, knowingly, --switch-insecure-plaintext' });
  });

  void it('names what is missing when there is no release', async () => {
    await assert.rejects(gatherStatus(api.kubeConfig(), { namespace: 'default', release: 'talaria', probe: probeSwitch({ switchInsecurePlaintext: true }) }), /no Talaria release "talaria" in namespace default/);
  });
});
