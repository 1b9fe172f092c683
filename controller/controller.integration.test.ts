// The controller end to end, in-process: a real kube-apiserver (list/watch
// over HTTPS, @kubernetes/client-node informers) and the P4Runtime server with
// the in-memory target. The API server also holds the `kubernetes` Service it
// makes for itself (10.96.0.1:443, no endpoints here): the controller
// programs it like any other, so the assertions look at their own Services.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { P4InfoIndex } from '../p4/client/index.js';
import type { Controller } from './controller.js';
import { Harness, p4info, until } from './test-harness.js';

function metric(c: Controller, name: string): Promise<string> {
  return (c.metrics.updates as unknown as { get(): Promise<{ values: { labels: Record<string, string>; value: number }[] }> })
    .get()
    .then((m) => JSON.stringify(m.values.filter((v) => v.value > 0).map((v) => [v.labels.type, v.value])))
    .then((s) => `${name}=${s}`);
}

void describe('controller against the API server and a P4Runtime server', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());
  // A failed test must not leave its controller running into the next one.
  afterEach(async () => {
    for (const c of [...h.controllers]) await h.stopController(c);
  });

  void it('create, change, scale, delete', async () => {
    await h.node('node-1', 1);
    await h.service('web', '10.96.0.10');
    await h.slice('web', ['10.244.1.5', '10.244.1.6']);
    const c = await h.controller();
    // Frontends are written last in a sync: once one is there, the rest is.
    await until('web programmed', async () => (await h.switchState()).has('frontend 10.96.0.10 80 TCP'));
    let s = await h.switchState();
    assert.ok(s.has('frontend 10.96.0.10 80 TCP') && s.has('route 10.244.1.0/24') && s.has('route 198.18.0.1/32'));
    assert.deepEqual(s.get('group 1'), { type: 'group', groupId: 1, members: [1, 2] });
    // Backends are keyed by frontend id; the `kubernetes` Service has one too.
    const web = (s.get('frontend 10.96.0.10 80 TCP') as { frontendId: number }).frontendId;

    // Scale down through termination: out of the group, pinned entry kept; then gone.
    await h.slice('web', ['10.244.1.5'], ['10.244.1.6']);
    await until('group shrinks', async () => !(await h.switchState()).has('member 2'));
    assert.deepEqual((await h.switchState()).get('group 1'), { type: 'group', groupId: 1, members: [1] });
    assert.ok((await h.switchState()).has(`backend ${web} 2`));
    await h.slice('web', ['10.244.1.5', '10.244.1.7']);
    await until('scaled up', async () => !(await h.switchState()).has(`backend ${web} 2`));
    s = await h.switchState();
    assert.ok(s.has('member 3') && !s.has('member 2'), 'the gone endpoint is removed, its id not reused');

    // Change: a new port; then delete.
    await h.service('web', '10.96.0.10', { ports: [{ name: 'http', port: 81, protocol: 'TCP' }] });
    await until('port changed', async () => !(await h.switchState()).has('frontend 10.96.0.10 80 TCP'));
    assert.ok((await h.switchState()).has('frontend 10.96.0.10 81 TCP'));
    await h.api.delete({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' } });
    await h.api.delete({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-abc', namespace: 'default' } });
    // Left: the routes and the `kubernetes` Service (no endpoints: frontend and reverse entry).
    const kubernetes = ((await h.switchState()).get('frontend 10.96.0.1 443 TCP') as { frontendId: number }).frontendId;
    const left = async () => [...(await h.switchState()).keys()].filter((k) => !k.startsWith('route')).sort();
    await until('deleted', async () => (await left()).length === 2);
    assert.deepEqual(await left(), ['frontend 10.96.0.1 443 TCP', `reverse ${kubernetes}`]);
    await h.stopController(c);
  });

  void it('controller restart: ids survive, nothing rewritten', async () => {
    for (let i = 0; i < 5; i++) {
      await h.service(`r${i}`, `10.96.1.${i + 1}`);
      await h.slice(`r${i}`, [`10.244.1.${10 + i}`, `10.244.1.${20 + i}`]);
    }
    const a = await h.controller();
    await until('programmed', async () => (await h.switchState()).has('frontend 10.96.1.5 80 TCP') && (await h.switchState()).has('member 10'));
    await until('a synced', () => a.health.healthy() && a.syncer.lastStats?.failures === 0);
    const before = await h.switchState();
    await h.stopController(a);
    const b = await h.controller();
    await until('b synced', () => b.syncer.lastStats !== undefined);
    assert.equal(await metric(b, 'updates'), 'updates=[]', 'no update written');
    assert.deepEqual(await h.switchState(), before);
    await h.stopController(b);
  });

  void it('switch restart: state reconciled', async () => {
    const c = await h.controller();
    await until('synced', () => c.syncer.lastStats !== undefined);
    const want = await h.switchState();
    await h.restartSwitch();
    await until('restored', async () => (await h.switchState()).size === want.size);
    assert.deepEqual(await h.switchState(), want);
    await h.stopController(c);
  });

  // The API server refuses malformed fields itself; what reaches the
  // controller and still cannot be programmed is what it does not support.
  void it('a Service the switch cannot fully serve next to good ones: Event on it, the rest programmed', async () => {
    const c = await h.controller();
    await h.service('bad', '10.96.2.1', { ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'sctp', port: 99, protocol: 'SCTP' }] });
    await h.service('good', '10.96.2.2');
    await until('good programmed', async () => (await h.switchState()).has('frontend 10.96.2.2 80 TCP'));
    assert.ok((await h.switchState()).has('frontend 10.96.2.1 80 TCP'), 'the valid part of the bad Service too');
    await until('an Event on bad', async () => (await h.events()).some((e) => e.involvedObject.name === 'bad'));
    const events = (await h.events()).filter((e) => e.involvedObject.name === 'bad');
    assert.deepEqual(events.map((e) => e.reason), ['TalariaUnsupported']);
    assert.match(events[0].message, /spec\.ports\[1\]/);
    assert.match(events[0].message, /SCTP/);
    await h.stopController(c);
  });

  void it('API server restart: the informers resume and later changes are programmed', async () => {
    const c = await h.controller();
    await until('synced', () => c.syncer.lastStats !== undefined);
    await h.restartApiServer(300);
    await h.service('after-restart', '10.96.5.1');
    await until('programmed after the restart', async () => (await h.switchState()).has('frontend 10.96.5.1 80 TCP'), 30_000);
    await h.stopController(c);
  });

  void it('health and metrics endpoints as kube-proxy serves them', async () => {
    const c = await h.controller({ servers: true });
    await until('synced', () => c.syncer.lastStats !== undefined);
    const healthz = await fetch(`http://127.0.0.1:${c.ports.healthz}/healthz`);
    assert.equal(healthz.status, 200);
    assert.ok('lastUpdated' in ((await healthz.json()) as object));
    assert.equal(await (await fetch(`http://127.0.0.1:${c.ports.metrics}/proxyMode`)).text(), 'talaria');
    const metrics = await (await fetch(`http://127.0.0.1:${c.ports.metrics}/metrics`)).text();
    assert.match(metrics, /^talaria_switch_connected 1$/m);
    assert.match(metrics, /^talaria_leader 1$/m);
    assert.match(metrics, /^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/m);
    await h.stopController(c);
  });

  void it('/healthz of the leader follows its switch session: 503 with the reason while it has none, /livez stays 200', async () => {
    const c = await h.controller({ servers: true });
    await until('synced', () => c.syncer.lastStats !== undefined);
    const healthz = (): Promise<Response> => fetch(`http://127.0.0.1:${c.ports.healthz}/healthz`);
    assert.equal((await healthz()).status, 200);
    await h.stopSwitch();
    await until('unhealthy without the switch', async () => (await healthz()).status === 503, 20_000);
    assert.match(((await (await healthz()).json()) as { reason: string }).reason, /no P4Runtime session with the switch/);
    assert.equal((await fetch(`http://127.0.0.1:${c.ports.healthz}/livez`)).status, 200);
    await h.startSwitch();
    await until('healthy with the switch back', async () => (await healthz()).status === 200, 30_000);
    await h.stopController(c);
  });

  void it('two controllers: one leader, failover when it stops', async (t) => {
    const a = await h.controller({ lease: true, identity: 'ctl-a' });
    await until('a leads', () => a.isLeader && a.syncer.lastStats !== undefined);
    const b = await h.controller({ lease: true, identity: 'ctl-b' });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(b.isLeader, false);
    await h.stopController(a);
    const t0 = Date.now();
    await until('b leads', () => b.isLeader && b.syncer.attached);
    const takeover = Date.now() - t0;
    assert.ok(takeover < 10_000, `took over in ${takeover} ms`);
    t.diagnostic(`standby took over ${takeover} ms after the leader stopped`);
    await h.service('after-failover', '10.96.3.1');
    await until('b programs', async () => (await h.switchState()).has('frontend 10.96.3.1 80 TCP'));
    await h.stopController(b);
  });
});

void describe('capacity exhaustion', () => {
  const h = new Harness();
  // A P4Info whose frontends table holds 3 entries.
  const small = new P4InfoIndex(structuredClone(p4info.message));
  (small.message.tables ?? []).forEach((t) => {
    if (t.preamble.name.endsWith('.frontends')) t.size = 3;
  });
  const info = new P4InfoIndex(small.message);
  before(() => h.start(info));
  after(() => h.stop());

  void it('what fits is programmed in name order, the rest reported', async () => {
    for (const n of ['e', 'a', 'c', 'b', 'd']) await h.service(`cap-${n}`, `10.96.4.${n.charCodeAt(0) - 96}`);
    const c = await h.controller();
    await until('synced', () => c.syncer.lastStats !== undefined);
    const fronts = [...(await h.switchState()).values()].filter((e) => e.type === 'frontend').map((e) => (e.type === 'frontend' ? e.addr : ''));
    assert.deepEqual(fronts.sort(), ['10.96.4.1', '10.96.4.2', '10.96.4.3']);
    // The API server's own `kubernetes` Service sorts after them and does not fit either.
    await until('events', async () => (await h.events()).length >= 3);
    const events = await h.events();
    assert.deepEqual(events.map((e) => `${e.involvedObject.name} ${e.reason}`).sort(), ['cap-d TalariaSwitchFull', 'cap-e TalariaSwitchFull', 'kubernetes TalariaSwitchFull']);
    const gauge = await c.metrics.unprogrammed.get();
    assert.equal(gauge.values.find((v) => v.labels.reason === 'capacity')?.value, 3);
    // Adding a Service that sorts first does not push out what is programmed.
    await h.service('cap-0', '10.96.4.99');
    await new Promise((r) => setTimeout(r, 300));
    const after = [...(await h.switchState()).values()].filter((e) => e.type === 'frontend').map((e) => (e.type === 'frontend' ? e.addr : ''));
    assert.deepEqual(after.sort(), ['10.96.4.1', '10.96.4.2', '10.96.4.3']);
  });
});
