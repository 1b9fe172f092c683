// The sync loop against a fake switch that enforces P4Runtime's reference
// rules: what ends up on the switch, how many updates it took, and recovery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { talariaP4Info } from '../p4/p4info/load-p4info.js';
import { ClusterState } from './cluster-state.js';
import { ControllerMetrics } from './metrics.js';
import type { Problem } from '../proxy/problem.js';
import { EntityCodec } from './switch/codec.js';
import { FakeSwitch } from './switch/fake-switch.js';
import { Syncer } from './syncer.js';

const codec = new EntityCodec(talariaP4Info());

function svc(name: string, ip: string, extra: Record<string, unknown> = {}): V1Service {
  return { metadata: { namespace: 'ns', name, creationTimestamp: new Date('2026-01-01T00:00:00Z') }, spec: { clusterIP: ip, ports: [{ name: 'http', port: 80 }], ...extra } } as V1Service;
}
function slice(service: string, addrs: string[], terminating: string[] = []): V1EndpointSlice {
  return {
    metadata: { namespace: 'ns', name: `${service}-1`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080 }],
    endpoints: [
      ...addrs.map((a) => ({ addresses: [a], conditions: { ready: true } })),
      ...terminating.map((a) => ({ addresses: [a], conditions: { ready: false, serving: false, terminating: true } })),
    ],
  } as V1EndpointSlice;
}

function setup(sw = new FakeSwitch(codec), state = new ClusterState()) {
  const problems: Problem[] = [];
  const registry = new Registry();
  const metrics = new ControllerMetrics(registry);
  const syncer = new Syncer({ state, codec, metrics, onProblems: (p) => problems.push(...p), batchSize: 3 });
  syncer.attach(sw);
  return { sw, state, syncer, problems, registry, metrics };
}

void test('create, scale, terminate, delete: the switch follows with minimal updates', async () => {
  const { sw, state, syncer } = setup();
  state.onService(svc('web', '10.96.0.10'));
  state.onEndpointSlice(slice('web', ['10.244.1.1', '10.244.1.2']));
  await syncer.sync();
  assert.deepEqual(sw.lines(), [
    'backend 1 1',
    'backend 1 2',
    'frontend 10.96.0.10 80 TCP',
    'group 1',
    'member 1',
    'member 2',
    'reverse 1',
    'select 1',
  ]);
  const before = sw.updates;

  // One endpoint starts terminating: out of the group, still in backends.
  state.onEndpointSlice(slice('web', ['10.244.1.1'], ['10.244.1.2']));
  await syncer.sync();
  assert.equal(sw.updates - before, 2, 'group modify + member delete');
  assert.deepEqual(sw.entities.get('group 1'), { type: 'group', groupId: 1, members: [1] });
  assert.ok(sw.entities.has('backend 1 2'));

  // Gone: the backends entry goes too. Then the Service goes.
  state.onEndpointSlice(slice('web', ['10.244.1.1']));
  await syncer.sync();
  assert.ok(!sw.entities.has('backend 1 2'));
  state.onService(svc('web', '10.96.0.10'), true);
  state.onEndpointSlice(slice('web', []), true);
  await syncer.sync();
  assert.deepEqual(sw.lines(), []);
});

void test('changes that cancel out write nothing', async () => {
  const { sw, state, syncer } = setup();
  state.onService(svc('web', '10.96.0.10'));
  await syncer.sync();
  const writes = sw.writes;
  state.onService(svc('web', '10.96.0.99'));
  state.onService(svc('web', '10.96.0.10'));
  await syncer.sync();
  assert.equal(sw.writes, writes);
});

void test('controller restart: ids adopted, nothing rewritten', async () => {
  const sw = new FakeSwitch(codec);
  const a = setup(sw);
  for (let i = 0; i < 5; i++) {
    a.state.onService(svc(`s${i}`, `10.96.0.${i + 1}`));
    a.state.onEndpointSlice(slice(`s${i}`, [`10.244.1.${i + 1}`, `10.244.2.${i + 1}`]));
  }
  // Create and delete one first so that ids are not simply 1..n in name order.
  a.state.onService(svc('a-early', '10.96.1.1'));
  await a.syncer.sync();
  a.state.onService(svc('a-early', '10.96.1.1'), true);
  await a.syncer.sync();
  const snapshot = new Map(sw.entities);
  const updates = sw.updates;

  const b = setup(sw);
  for (let i = 4; i >= 0; i--) {
    b.state.onEndpointSlice(slice(`s${i}`, [`10.244.2.${i + 1}`, `10.244.1.${i + 1}`]));
    b.state.onService(svc(`s${i}`, `10.96.0.${i + 1}`));
  }
  await b.syncer.sync();
  assert.equal(sw.updates, updates, 'no update at all');
  assert.deepEqual(sw.entities, snapshot);
  // A new endpoint gets an id never used before.
  b.state.onEndpointSlice(slice('s0', ['10.244.1.1', '10.244.2.1', '10.244.3.1']));
  await b.syncer.sync();
  const ids = [...sw.entities.values()].filter((e) => e.type === 'member').map((e) => (e.type === 'member' ? e.backendId : 0));
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(Math.max(...ids), 11, 'the next id after the highest on the switch');
});

void test('a full switch, then a controller restart: the installed Services keep their place, nothing is evicted', async () => {
  // Room for two frontends. ns/b and ns/c are installed; ns/a (which sorts first) comes later and waits.
  class TwoFrontends extends EntityCodec {
    override capacity(): ReturnType<EntityCodec['capacity']> {
      return { ...super.capacity(), frontend: 2 };
    }
  }
  const small = new TwoFrontends(talariaP4Info());
  const sw = new FakeSwitch(small);
  const objects = (state: ClusterState, names: string[]): void => {
    for (const n of names) state.onService(svc(n, `10.96.0.${n.charCodeAt(0)}`));
  };
  const firstState = new ClusterState();
  const first = new Syncer({ state: firstState, codec: small, metrics: new ControllerMetrics(new Registry()) });
  first.attach(sw);
  objects(firstState, ['b', 'c']);
  await first.sync();
  objects(firstState, ['a']);
  await first.sync();
  const frontends = (): string[] => sw.lines().filter((l) => l.startsWith('frontend'));
  assert.deepEqual(frontends(), ['frontend 10.96.0.98 80 TCP', 'frontend 10.96.0.99 80 TCP']);

  // A new leader (or this one restarted) sees all three at once.
  const restartedState = new ClusterState();
  const restarted = new Syncer({ state: restartedState, codec: small, metrics: new ControllerMetrics(new Registry()) });
  restarted.attach(sw);
  objects(restartedState, ['a', 'b', 'c']);
  const updates = sw.updates;
  await restarted.sync();
  assert.deepEqual(frontends(), ['frontend 10.96.0.98 80 TCP', 'frontend 10.96.0.99 80 TCP'], 'ns/c stays; ns/a still waits');
  assert.equal(sw.updates, updates, 'nothing written');
});

void test('switch lost its state: the next full sync restores it', async () => {
  const { sw, state, syncer } = setup();
  state.onService(svc('web', '10.96.0.10'));
  state.onEndpointSlice(slice('web', ['10.244.1.1']));
  await syncer.sync();
  const want = sw.lines();
  sw.entities.clear();
  syncer.attach(sw); // what the connection manager does on reconnect
  await syncer.sync();
  assert.deepEqual(sw.lines(), want);
});

void test('refused updates: re-read, reconcile, report; the rest is programmed', async () => {
  const { sw, state, syncer, registry } = setup();
  state.onService(svc('a', '10.96.0.1'));
  state.onService(svc('b', '10.96.0.2'));
  sw.refuse = (_u, e) => (e.type === 'frontend' && e.addr === '10.96.0.2' ? 'no room' : undefined);
  await assert.rejects(syncer.sync(), /refused by the switch/);
  assert.ok(sw.entities.has('frontend 10.96.0.1 80 TCP'));
  assert.match(await registry.getSingleMetricAsString('talaria_switch_write_errors_total'), /talaria_switch_write_errors_total 2/);
  sw.refuse = undefined;
  await syncer.sync();
  assert.ok(sw.entities.has('frontend 10.96.0.2 80 TCP'));
});

void test('standby keeps its model and writes nothing; on attach it programs everything', async () => {
  const sw = new FakeSwitch(codec);
  const { state, syncer } = setup(sw);
  syncer.detach();
  state.onService(svc('web', '10.96.0.10'));
  await syncer.sync();
  assert.equal(sw.writes, 0);
  syncer.attach(sw, { freshIds: true });
  await syncer.sync();
  assert.ok(sw.entities.has('frontend 10.96.0.10 80 TCP'));
});

void test('bad input becomes a problem on that Service only', async () => {
  const { sw, state, syncer, problems } = setup();
  state.onService(svc('good', '10.96.0.1'));
  state.onService(svc('bad', '10.96.0.2', { ports: [{ name: 'http', port: 80 }, { name: 'x', port: 70000 }] }));
  await syncer.sync();
  assert.deepEqual(problems.map((p) => `${p.service} ${p.field}`), ['ns/bad spec.ports[1].port']);
  assert.ok(sw.entities.has('frontend 10.96.0.1 80 TCP') && sw.entities.has('frontend 10.96.0.2 80 TCP'));
  await syncer.sync({ full: true });
  assert.equal(problems.length, 1, 'reported once');
});

void test('one span per sync with a child per P4Runtime Write; every metric exported', async () => {
  const { startTelemetry } = await import('../observability/telemetry.js');
  const { SpanRecorder } = await import('../observability/span-recorder.js');
  const { SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const recorder = new SpanRecorder();
  const telemetry = startTelemetry({ serviceName: 'controller-test', spanProcessors: [new SimpleSpanProcessor(recorder)] });
  try {
    const state = new ClusterState();
    const sw = new FakeSwitch(codec);
    const syncer = new Syncer({ state, codec, metrics: new ControllerMetrics(telemetry.registry), tracer: telemetry.tracer, batchSize: 3 });
    syncer.attach(sw);
    state.onService(svc('web', '10.96.0.10'));
    state.onEndpointSlice(slice('web', ['10.244.1.1', '10.244.1.2']));
    await syncer.sync();
    const spans = recorder.getFinishedSpans();
    const sync = spans.filter((s) => s.name === 'sync');
    const writes = spans.filter((s) => s.name === 'p4runtime.Write');
    assert.equal(sync.length, 1);
    assert.equal(writes.length, sw.writes);
    const syncId = sync[0].spanContext().spanId;
    for (const w of writes) assert.equal(w.parentSpanContext?.spanId, syncId);
    const text = await telemetry.registry.metrics();
    for (const name of [
      'kubeproxy_sync_proxy_rules_duration_seconds',
      'kubeproxy_network_programming_duration_seconds',
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'kubeproxy_sync_proxy_rules_service_changes_pending',
      'kubeproxy_sync_proxy_rules_service_changes_total',
      'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
      'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      'talaria_switch_table_entries{table="frontends"} 1',
      'talaria_switch_table_capacity{table="backends"} 262144',
      'talaria_switch_write_errors_total 0',
      'talaria_leader 0',
      'talaria_switch_connected 0',
      'talaria_services_unprogrammed{reason="capacity"} 0',
    ]) {
      assert.ok(text.includes(name), name);
    }
    assert.match(text, /kubeproxy_network_programming_duration_seconds_count 1/);
  } finally {
    await telemetry.shutdown();
  }
});

void test('a conflicting frontend moves to the younger Service when the older one goes', async () => {
  const { sw, state, syncer, problems } = setup();
  const older = { ...svc('older', '10.96.0.1', { externalIPs: ['192.0.2.9'] }), metadata: { namespace: 'ns', name: 'older', creationTimestamp: new Date('2025-01-01T00:00:00Z') } } as V1Service;
  const younger = svc('younger', '10.96.0.2', { externalIPs: ['192.0.2.9'] });
  state.onService(younger);
  state.onService(older);
  state.onEndpointSlice(slice('older', ['10.244.1.1']));
  state.onEndpointSlice(slice('younger', ['10.244.2.1']));
  await syncer.sync();
  assert.deepEqual(problems.map((p) => `${p.service} ${p.reason}`), ['ns/younger conflict']);
  const ext = () => [...sw.entities.values()].find((e) => e.type === 'frontend' && e.addr === '192.0.2.9');
  const backendsOf = (fid: number) => [...sw.entities.values()].filter((e) => e.type === 'backend' && e.frontendId === fid).map((e) => (e.type === 'backend' ? e.addr : ''));
  const fid = ext()!.type === 'frontend' ? (ext() as { frontendId: number }).frontendId : 0;
  assert.deepEqual(backendsOf(fid), ['10.244.1.1']);
  state.onService(older, true);
  await syncer.sync();
  const now = ext() as { frontendId: number };
  assert.deepEqual(backendsOf(now.frontendId), ['10.244.2.1']);
  assert.ok(!sw.entities.has('frontend 10.96.0.1 80 TCP'));
  // The fake switch enforces references: a re-read (as after a reconnect) finds nothing to fix.
  syncer.attach(sw);
  await syncer.sync();
  assert.deepEqual([syncer.lastStats?.inserts, syncer.lastStats?.modifies, syncer.lastStats?.deletes], [0, 0, 0]);
});
