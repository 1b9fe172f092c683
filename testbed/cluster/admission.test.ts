// Allocation and validation as a user of the API meets them: Services get
// addresses and NodePorts, conflicts and bad fields are refused naming the field.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../apiserver/errors.js';
import { ObjectStore } from '../apiserver/store.js';
import type { KubeObject } from '../apiserver/types.js';
import { startCluster } from './control-plane.js';
import { ClusterIpAllocator, NodePortAllocator } from './ip-allocator.js';

function cluster(): { store: ObjectStore; stop(): void } {
  const store = new ObjectStore();
  const c = startCluster(store, { onError: () => {} });
  return { store, stop: () => c.stop() };
}

/** The field of the first cause of the ApiError fn throws, or "ok". */
function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return `${e.reason} ${e.details?.causes?.map((c) => c.field).join(',') ?? ''}`.trim();
    throw e;
  }
  return 'ok';
}

function svc(name: string, spec: Record<string, unknown>): KubeObject {
  return { metadata: { name }, spec: { selector: { app: name }, ...spec } };
}

describe('ClusterIpAllocator and NodePortAllocator', () => {
  it('hands out addresses above the static band, honours requests, refuses taken ones, reuses released ones', () => {
    const a = new ClusterIpAllocator('10.96.0.0/12');
    assert.equal(a.allocateNext(), '10.96.1.0');
    assert.equal(a.allocateNext(), '10.96.1.1');
    assert.equal(a.allocate('10.96.0.10'), '10.96.0.10');
    assert.throws(() => a.allocate('10.96.0.10'), /already allocated/);
    assert.throws(() => a.allocate('10.112.0.1'), /not in the valid range/);
    a.release('10.96.0.10');
    assert.equal(a.allocate('10.96.0.10'), '10.96.0.10');
    const small = new ClusterIpAllocator('10.0.0.0/29'); // 8 addresses: network, broadcast and .1 are never dynamic
    const got = Array.from({ length: 5 }, () => small.allocateNext()).sort();
    assert.deepEqual(got, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    assert.throws(() => small.allocateNext(), /range is full/);
    const p = new NodePortAllocator({ first: 30000, last: 30001 });
    assert.equal(p.allocate(30001), 30001);
    assert.equal(p.allocateNext(), 30000);
    assert.throws(() => p.allocateNext(), /range is full/);
    assert.throws(() => p.allocate(29999), /valid range/);
  });
});

describe('Service admission', () => {
  it('defaults a Service and allocates its ClusterIP and NodePorts', () => {
    const { store, stop } = cluster();
    try {
      const s = store.create('services', svc('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'dns', port: 53, protocol: 'UDP' }] }));
      assert.match(s.spec.clusterIP, /^10\.(9[6-9]|10[0-9]|11[01])\./);
      assert.deepEqual(s.spec.clusterIPs, [s.spec.clusterIP]);
      assert.deepEqual(s.spec.ports.map((p: { protocol: string; targetPort: unknown; nodePort: number }) => [p.protocol, p.targetPort, p.nodePort >= 30000 && p.nodePort <= 32767]), [['TCP', 'http', true], ['UDP', 53, true]]);
      assert.equal(s.spec.externalTrafficPolicy, 'Cluster');
      assert.equal(s.spec.sessionAffinity, 'None');
      const headless = store.create('services', svc('hl', { clusterIP: 'None', ports: [{ port: 80 }] }));
      assert.equal(headless.spec.clusterIP, 'None');
      const ext = store.create('services', { metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
      assert.equal(ext.spec.clusterIP, undefined);
    } finally {
      stop();
    }
  });

  it('honours requested addresses and ports, refuses taken ones naming the field, and frees them on delete', () => {
    const { store, stop } = cluster();
    try {
      store.create('services', svc('a', { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, nodePort: 30080 }] }));
      assert.equal(fieldOf(() => store.create('services', svc('b', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }))), 'Invalid spec.clusterIPs');
      assert.equal(fieldOf(() => store.create('services', svc('c', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }))), 'Invalid spec.ports[0].nodePort');
      assert.equal(fieldOf(() => store.create('services', svc('d', { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] }))), 'Invalid spec.ports[0].nodePort');
      // A refused create leaks nothing: the ClusterIP c would have had is free again.
      store.delete('services', 'default', 'a');
      store.create('services', svc('e', { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, nodePort: 30080 }] }));
    } finally {
      stop();
    }
  });

  it('keeps the ClusterIP immutable, carries allocated values over updates, and allocates/frees on type changes', () => {
    const { store, stop } = cluster();
    try {
      const s = store.create('services', svc('t', { ports: [{ port: 80 }] }));
      assert.equal(fieldOf(() => store.patch('services', 'default', 't', { spec: { clusterIP: '10.96.0.99' } })), 'Invalid spec.clusterIP');
      // kubectl apply of the original manifest (no clusterIP) keeps the address.
      const applied = store.update('services', svc('t', { ports: [{ port: 8080 }] }));
      assert.equal(applied.spec.clusterIP, s.spec.clusterIP);
      const np = store.patch('services', 'default', 't', { spec: { type: 'NodePort' } });
      const port = np.spec.ports[0].nodePort as number;
      assert.ok(port >= 30000);
      const back = store.patch('services', 'default', 't', { spec: { type: 'ClusterIP' } });
      assert.equal(back.spec.ports[0].nodePort, undefined);
      store.create('services', svc('u', { type: 'NodePort', ports: [{ port: 80, nodePort: port }] }));
    } finally {
      stop();
    }
  });

  it('refuses invalid objects naming the field', () => {
    const { store, stop } = cluster();
    try {
      const cases: Array<[string, string, KubeObject, string]> = [
        ['no ports', 'services', svc('x', {}), 'Invalid spec.ports'],
        ['port out of range', 'services', svc('x', { ports: [{ port: 70000 }] }), 'Invalid spec.ports[0].port'],
        ['bad protocol', 'services', svc('x', { ports: [{ port: 80, protocol: 'ICMP' }] }), 'Invalid spec.ports[0].protocol'],
        ['unnamed port of several', 'services', svc('x', { ports: [{ port: 80 }, { name: 'b', port: 81 }] }), 'Invalid spec.ports[0].name'],
        ['duplicate port names', 'services', svc('x', { ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'Invalid spec.ports[1].name'],
        ['bad named targetPort', 'services', svc('x', { ports: [{ port: 80, targetPort: 'Not_A_Name' }] }), 'Invalid spec.ports[0].targetPort'],
        ['nodePort on ClusterIP', 'services', svc('x', { ports: [{ port: 80, nodePort: 30001 }] }), 'Invalid spec.ports[0].nodePort'],
        ['bad type', 'services', svc('x', { type: 'Magic', ports: [{ port: 80 }] }), 'Invalid spec.type'],
        ['ExternalName without a name', 'services', { metadata: { name: 'x' }, spec: { type: 'ExternalName' } }, 'Invalid spec.externalName'],
        ['name not a DNS-1035 label', 'services', svc('1abc', { ports: [{ port: 80 }] }), 'Invalid metadata.name'],
        ['pod without containers', 'pods', { metadata: { name: 'p' }, spec: { containers: [] } }, 'Invalid spec.containers'],
        ['pod without image', 'pods', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } }, 'Invalid spec.containers[0].image'],
        ['pod port name too long', 'pods', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'a-very-long-port-name', containerPort: 80 }] }] } }, 'Invalid spec.containers[0].ports[0].name'],
        ['deployment selector does not match', 'deployments', { metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } }, 'Invalid spec.template.metadata.labels'],
        ['deployment negative replicas', 'deployments', { metadata: { name: 'd' }, spec: { replicas: -1, selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } }, 'Invalid spec.replicas'],
      ];
      for (const [what, resource, obj, want] of cases) assert.equal(fieldOf(() => store.create(resource, obj)), want, what);
      // A scheduled pod stays on its node.
      store.create('pods', { metadata: { name: 'bound' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] } });
      assert.equal(fieldOf(() => store.patch('pods', 'default', 'bound', { spec: { nodeName: 'n2' } })), 'Invalid spec.nodeName');
    } finally {
      stop();
    }
  });
});
