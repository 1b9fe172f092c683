// Golden tests: Kubernetes objects in, switch entities out, one row per feature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { unlimited, type Capacity } from './capacity.js';
import { DesiredStateComputer } from './desired-state.js';
import { entityKey, formatEntity, writeOrder, type Entity } from './entities.js';
import { desiredInputFromObjects } from './from-objects.js';
import { LOOKUP_MAX_BACKENDS, LOOKUP_MEMBER_ID_MIN, LOOKUP_SLOTS } from './lookup-groups.js';
import { nodeInfoFromNode, parseExternalRoute, parseNodeSwitchPort, parsePortMac } from './nodes.js';

let created = 0;
function svc(name: string, spec: Record<string, unknown>, extra: { labels?: Record<string, string>; status?: unknown; createdAt?: string } = {}): V1Service {
  return {
    metadata: { namespace: 'ns', name, labels: extra.labels, creationTimestamp: extra.createdAt ?? new Date(Date.UTC(2026, 0, 1, 0, 0, created++)).toISOString() },
    spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }], ...spec },
    status: extra.status,
  } as unknown as V1Service;
}

type Ep = [addr: string, opts?: { ready?: boolean; serving?: boolean; terminating?: boolean; node?: string }];
function slice(service: string, eps: Ep[], ports: { name?: string; port: number; protocol?: string }[] = [{ name: 'http', port: 8080 }]): V1EndpointSlice {
  return {
    metadata: { namespace: 'ns', name: `${service}-abc`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports,
    endpoints: eps.map(([addr, o = {}]) => ({
      addresses: [addr],
      nodeName: o.node,
      conditions: { ready: o.ready ?? true, serving: o.serving, terminating: o.terminating },
    })),
  } as V1EndpointSlice;
}

function node(name: string, n: number, annotate = true): V1Node {
  return {
    metadata: { name, annotations: annotate ? { 'talaria.io/switch-port': String(n), 'talaria.io/uplink-mac': `02:00:00:00:00:0${n}` } : {} },
    spec: { podCIDR: `10.244.${n}.0/24` },
    status: { addresses: [{ type: 'InternalIP', address: `198.18.0.${n}` }, { type: 'Hostname', address: name }] },
  } as V1Node;
}

/** One line per entity; a lookup group (lookup-groups.ts) as one line with its slots per backend instead of 127 member lines. */
function lines(entities: Iterable<Entity>): string[] {
  const list = [...entities];
  const slotBackend = new Map(list.flatMap((e) => (e.type === 'member' && e.memberId >= LOOKUP_MEMBER_ID_MIN ? [[e.memberId, e.backendId] as const] : [])));
  const line = (e: Entity): string => {
    if (e.type !== 'group' || !e.members.some((m) => slotBackend.has(m))) return formatEntity(e);
    const slots = new Map<number, number>();
    for (const m of e.members) slots.set(slotBackend.get(m)!, (slots.get(slotBackend.get(m)!) ?? 0) + 1);
    return `group ${e.groupId} = lookup of ${e.members.length} slots: ${[...slots].sort((x, y) => x[0] - y[0]).map(([b, n]) => `backend ${b} x${n}`).join(', ')}`;
  };
  return list
    .filter((e) => !(e.type === 'member' && slotBackend.has(e.memberId)))
    .sort((a, b) => writeOrder.indexOf(a.type) - writeOrder.indexOf(b.type) || (entityKey(a) < entityKey(b) ? -1 : 1))
    .map(line);
}

interface Row {
  name: string;
  services: V1Service[];
  slices?: V1EndpointSlice[];
  nodes?: V1Node[];
  capacity?: Partial<Capacity>;
  externalRoutes?: string[];
  portMacs?: string[];
  want: string[];
  problems?: string[];
}

const rows: Row[] = [
  {
    name: 'ClusterIP with two ready endpoints',
    services: [svc('web', {})],
    slices: [slice('web', [['10.244.1.5'], ['10.244.2.5']])],
    want: [
      'member 1 = to_backend(1, 10.244.1.5, 8080)',
      'member 2 = to_backend(2, 10.244.2.5, 8080)',
      'group 1 = [1,2]',
      'backends 1,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 1,2 -> to_backend(2, 10.244.2.5, 8080)',
      'reverse_nat 1 -> restore_frontend(10.96.0.10, 80)',
      'backend_select 1 -> group 1',
      'frontends 10.96.0.10:80/TCP -> set_frontend(1, 0x0)',
    ],
  },
  {
    name: 'no endpoints: frontend rejects',
    services: [svc('web', {})],
    want: ['reverse_nat 1 -> restore_frontend(10.96.0.10, 80)', 'frontends 10.96.0.10:80/TCP -> set_frontend(1, 0x1)'],
  },
  {
    name: 'terminating endpoint stays in backends, leaves the group',
    services: [svc('web', {})],
    slices: [slice('web', [['10.244.1.5'], ['10.244.2.5', { ready: false, serving: true, terminating: true }]])],
    want: [
      'member 1 = to_backend(1, 10.244.1.5, 8080)',
      'group 1 = [1]',
      'backends 1,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 1,2 -> to_backend(2, 10.244.2.5, 8080)',
      'reverse_nat 1 -> restore_frontend(10.96.0.10, 80)',
      'backend_select 1 -> group 1',
      'frontends 10.96.0.10:80/TCP -> set_frontend(1, 0x0)',
    ],
  },
  {
    name: 'only serving+terminating endpoints: they are selectable; non-serving ones only pinned',
    services: [svc('web', {})],
    slices: [slice('web', [['10.244.1.5', { ready: false, serving: true, terminating: true }], ['10.244.2.5', { ready: false, serving: false, terminating: true }]])],
    want: [
      'member 1 = to_backend(1, 10.244.1.5, 8080)',
      'group 1 = [1]',
      'backends 1,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 1,2 -> to_backend(2, 10.244.2.5, 8080)',
      'reverse_nat 1 -> restore_frontend(10.96.0.10, 80)',
      'backend_select 1 -> group 1',
      'frontends 10.96.0.10:80/TCP -> set_frontend(1, 0x0)',
    ],
  },
  {
    name: 'only non-serving terminating endpoints: reject new, keep pinned',
    services: [svc('web', {})],
    slices: [slice('web', [['10.244.2.5', { ready: false, serving: false, terminating: true }]])],
    want: [
      'backends 1,1 -> to_backend(1, 10.244.2.5, 8080)',
      'reverse_nat 1 -> restore_frontend(10.96.0.10, 80)',
      'frontends 10.96.0.10:80/TCP -> set_frontend(1, 0x1)',
    ],
  },
  {
    name: 'NodePort: one frontend per node address, one shared group; routes per node',
    services: [svc('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })],
    slices: [slice('web', [['10.244.1.5', { node: 'n1' }]])],
    nodes: [node('n1', 1), node('n2', 2)],
    want: [
      'group 1 = lookup of 127 slots: backend 1 x127',
      'backends 1,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 2,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 3,1 -> to_backend(1, 10.244.1.5, 8080)',
      'reverse_nat 1 -> restore_frontend(10.96.0.10, 80)',
      'reverse_nat 2 -> restore_frontend(198.18.0.1, 30080)',
      'reverse_nat 3 -> restore_frontend(198.18.0.2, 30080)',
      'backend_select 1 -> group 1',
      'backend_select 2 -> group 1',
      'backend_select 3 -> group 1',
      'frontends 10.96.0.10:80/TCP -> set_frontend(1, 0x0)',
      'frontends 198.18.0.1:30080/TCP -> set_frontend(2, 0x0)',
      'frontends 198.18.0.2:30080/TCP -> set_frontend(3, 0x0)',
      'routes 10.244.1.0/24 -> to_port(1, 02:00:00:00:00:01)',
      'routes 10.244.2.0/24 -> to_port(2, 02:00:00:00:00:02)',
      'routes 198.18.0.1/32 -> to_port(1, 02:00:00:00:00:01)',
      'routes 198.18.0.2/32 -> to_port(2, 02:00:00:00:00:02)',
    ],
  },
  {
    name: 'externalTrafficPolicy=Local: per-node groups, reject on a node without local endpoints',
    services: [svc('web', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })],
    slices: [slice('web', [['10.244.1.5', { node: 'n1' }], ['10.244.1.6', { node: 'n1' }]])],
    nodes: [node('n1', 1, false), node('n2', 2, false)],
    want: [
      'member 1 = to_backend(1, 10.244.1.5, 8080)',
      'member 2 = to_backend(2, 10.244.1.6, 8080)',
      'group 1 = [1,2]',
      'group 2 = lookup of 127 slots: backend 1 x64, backend 2 x63',
      'backends 1,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 1,2 -> to_backend(2, 10.244.1.6, 8080)',
      'backends 2,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 2,2 -> to_backend(2, 10.244.1.6, 8080)',
      'backends 3,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 3,2 -> to_backend(2, 10.244.1.6, 8080)',
      'reverse_nat 1 -> restore_frontend(10.96.0.10, 80)',
      'reverse_nat 2 -> restore_frontend(198.18.0.1, 30080)',
      'reverse_nat 3 -> restore_frontend(198.18.0.2, 30080)',
      'backend_select 1 -> group 1',
      'backend_select 2 -> group 2',
      'frontends 10.96.0.10:80/TCP -> set_frontend(1, 0x0)',
      'frontends 198.18.0.1:30080/TCP -> set_frontend(2, 0x0)',
      'frontends 198.18.0.2:30080/TCP -> set_frontend(3, 0x1)',
    ],
  },
  {
    name: 'ExternalIP and LoadBalancer ingress, UDP, session affinity, internalTrafficPolicy=Local',
    services: [
      svc(
        'dns',
        { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }], externalIPs: ['192.0.2.1'], sessionAffinity: 'ClientIP', internalTrafficPolicy: 'Local' },
        { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } },
      ),
    ],
    slices: [slice('dns', [['10.244.1.5']], [{ name: 'dns', port: 5353, protocol: 'UDP' }])],
    want: [
      'group 1 = lookup of 127 slots: backend 1 x127',
      'backends 1,1 -> to_backend(1, 10.244.1.5, 5353)',
      'backends 2,1 -> to_backend(1, 10.244.1.5, 5353)',
      'backends 3,1 -> to_backend(1, 10.244.1.5, 5353)',
      'reverse_nat 1 -> restore_frontend(10.96.0.10, 53)',
      'reverse_nat 2 -> restore_frontend(192.0.2.1, 53)',
      'reverse_nat 3 -> restore_frontend(203.0.113.7, 53)',
      'backend_select 1 -> group 1',
      'backend_select 2 -> group 1',
      'backend_select 3 -> group 1',
      'frontends 10.96.0.10:53/UDP -> set_frontend(1, 0x2)',
      'frontends 192.0.2.1:53/UDP -> set_frontend(2, 0x2)',
      'frontends 203.0.113.7:53/UDP -> set_frontend(3, 0x2)',
    ],
  },
  {
    name: 'loadBalancerSourceRanges: the LoadBalancer IP is flagged and holds its ranges; the ClusterIP and the externalIP stay open',
    services: [
      svc(
        'lb',
        { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, externalIPs: ['192.0.2.1'], loadBalancerSourceRanges: ['198.51.100.0/24', '10.244.1.7/32'] },
        { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } },
      ),
    ],
    slices: [slice('lb', [['10.244.1.5']])],
    want: [
      'group 1 = lookup of 127 slots: backend 1 x127',
      'backends 1,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 2,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 3,1 -> to_backend(1, 10.244.1.5, 8080)',
      'reverse_nat 1 -> restore_frontend(10.96.0.10, 80)',
      'reverse_nat 2 -> restore_frontend(192.0.2.1, 80)',
      'reverse_nat 3 -> restore_frontend(203.0.113.7, 80)',
      'backend_select 1 -> group 1',
      'backend_select 2 -> group 1',
      'backend_select 3 -> group 1',
      'source_ranges 3,10.244.1.7/32 -> allow_source()',
      'source_ranges 3,198.51.100.0/24 -> allow_source()',
      'frontends 10.96.0.10:80/TCP -> set_frontend(1, 0x0)',
      'frontends 192.0.2.1:80/TCP -> set_frontend(2, 0x0)',
      'frontends 203.0.113.7:80/TCP -> set_frontend(3, 0x4)',
    ],
  },
  {
    name: 'loadBalancerSourceRanges without endpoints: no source check, every source gets the reject (as kube-proxy)',
    services: [svc('lb', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, loadBalancerSourceRanges: ['198.51.100.0/24'] }, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } })],
    want: [
      'reverse_nat 1 -> restore_frontend(10.96.0.10, 80)',
      'reverse_nat 2 -> restore_frontend(203.0.113.7, 80)',
      'frontends 10.96.0.10:80/TCP -> set_frontend(1, 0x1)',
      'frontends 203.0.113.7:80/TCP -> set_frontend(2, 0x1)',
    ],
  },
  {
    name: 'capacity: source_ranges counts like every table',
    services: [svc('lb', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, loadBalancerSourceRanges: ['198.51.100.0/24', '198.51.101.0/24'] }, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } })],
    slices: [slice('lb', [['10.244.1.5']])],
    capacity: { source: 1 },
    want: [],
    problems: ['Service ns/lb spec capacity'],
  },
  {
    name: 'named target port: endpoints come from the slice port with the service port name',
    services: [svc('web', { ports: [{ name: 'http', port: 80, targetPort: 'web' }, { name: 'admin', port: 81, targetPort: 'adm' }] })],
    slices: [slice('web', [['10.244.1.5']], [{ name: 'http', port: 8080 }, { name: 'admin', port: 9090 }])],
    want: [
      'member 1 = to_backend(1, 10.244.1.5, 8080)',
      'member 2 = to_backend(2, 10.244.1.5, 9090)',
      'group 1 = [1]',
      'group 2 = [2]',
      'backends 1,1 -> to_backend(1, 10.244.1.5, 8080)',
      'backends 2,2 -> to_backend(2, 10.244.1.5, 9090)',
      'reverse_nat 1 -> restore_frontend(10.96.0.10, 80)',
      'reverse_nat 2 -> restore_frontend(10.96.0.10, 81)',
      'backend_select 1 -> group 1',
      'backend_select 2 -> group 2',
      'frontends 10.96.0.10:80/TCP -> set_frontend(1, 0x0)',
      'frontends 10.96.0.10:81/TCP -> set_frontend(2, 0x0)',
    ],
  },
  {
    name: 'headless, ExternalName and other proxies are ignored; SCTP reported',
    services: [
      svc('headless', { clusterIP: 'None' }),
      svc('ext', { type: 'ExternalName', externalName: 'example.com', clusterIP: '' }),
      svc('other', {}, { labels: { 'service.kubernetes.io/service-proxy-name': 'someone-else' } }),
      svc('sctp', { clusterIP: '10.96.0.11', ports: [{ name: 's', port: 9, protocol: 'SCTP' }] }),
    ],
    want: [],
    problems: ['Service ns/sctp spec.ports[0].protocol unsupported'],
  },
  {
    name: 'bad fields next to good ones; conflicting frontend goes to the older Service',
    services: [
      svc('old', { clusterIP: '10.96.0.20', externalIPs: ['192.0.2.9'] }),
      svc('bad', { clusterIP: '10.96.0.21', externalIPs: ['192.0.2.9', '300.1.1.1'], ports: [{ name: 'http', port: 80 }, { name: 'x', port: 0 }] }),
    ],
    want: [
      'reverse_nat 1 -> restore_frontend(10.96.0.21, 80)',
      'reverse_nat 2 -> restore_frontend(10.96.0.20, 80)',
      'reverse_nat 3 -> restore_frontend(192.0.2.9, 80)',
      'frontends 10.96.0.20:80/TCP -> set_frontend(2, 0x1)',
      'frontends 10.96.0.21:80/TCP -> set_frontend(1, 0x1)',
      'frontends 192.0.2.9:80/TCP -> set_frontend(3, 0x1)',
    ],
    problems: ['Service ns/bad spec.externalIPs[0] conflict', 'Service ns/bad spec.externalIPs[1] invalid', 'Service ns/bad spec.ports[1].port invalid'],
  },
  {
    name: 'capacity: what fits is programmed in namespace/name order, the rest reported',
    services: [svc('c', { clusterIP: '10.96.0.3' }), svc('a', { clusterIP: '10.96.0.1' }), svc('b', { clusterIP: '10.96.0.2' })],
    capacity: { frontend: 2 },
    want: [
      'reverse_nat 1 -> restore_frontend(10.96.0.1, 80)',
      'reverse_nat 2 -> restore_frontend(10.96.0.2, 80)',
      'frontends 10.96.0.1:80/TCP -> set_frontend(1, 0x1)',
      'frontends 10.96.0.2:80/TCP -> set_frontend(2, 0x1)',
    ],
    problems: ['Service ns/c spec capacity'],
  },
  {
    name: 'external routes',
    services: [],
    externalRoutes: ['203.0.113.0/24=9,02:aa:bb:cc:dd:ee'],
    want: ['routes 203.0.113.0/24 -> to_external(9, 02:aa:bb:cc:dd:ee)'],
  },
  {
    name: 'port MACs: one egress_ports entry per port, the last flag for a port wins',
    services: [],
    portMacs: ['2=02:00:00:00:01:02', '1=02:00:00:00:01:01', '2=02:00:00:00:01:22'],
    want: ['egress_ports 1 -> set_source_mac(02:00:00:00:01:01)', 'egress_ports 2 -> set_source_mac(02:00:00:00:01:22)'],
  },
];

for (const row of rows) {
  void test(`desired state: ${row.name}`, () => {
    const input = desiredInputFromObjects({
      services: row.services,
      slices: row.slices ?? [],
      nodes: row.nodes ?? [],
      externalRoutes: (row.externalRoutes ?? []).map(parseExternalRoute),
      portMacs: (row.portMacs ?? []).map(parsePortMac),
    });
    const d = new DesiredStateComputer({ capacity: { ...unlimited, ...row.capacity } });
    const out = d.compute(input);
    assert.deepEqual(lines([...out.byOwner.values()].flat()), row.want);
    assert.deepEqual(out.problems.map((p) => `Service ${p.service} ${p.field} ${p.reason}`).sort(), (row.problems ?? []).sort());
  });
}

void test('ids are stable across changes and adopted from the switch', () => {
  const services = [svc('a', { clusterIP: '10.96.0.1' }), svc('b', { clusterIP: '10.96.0.2' })];
  const slices = [slice('a', [['10.244.1.1'], ['10.244.1.2']]), slice('b', [['10.244.2.1']])];
  const d = new DesiredStateComputer({ capacity: unlimited });
  const first = d.compute(desiredInputFromObjects({ services, slices, nodes: [] }));
  const installed = [...first.byOwner.values()].flat();

  // Scale a down to one endpoint, then up with a new one: the survivor keeps its id, the new one gets a fresh id.
  d.compute(desiredInputFromObjects({ services, slices: [slice('a', [['10.244.1.2']]), slices[1]], nodes: [] }));
  const third = d.compute(desiredInputFromObjects({ services, slices: [slice('a', [['10.244.1.2'], ['10.244.1.1']]), slices[1]], nodes: [] }));
  const backendsOfA = [...third.byOwner.get('ns/a')!].filter((e) => e.type === 'backend').map(formatEntity);
  assert.deepEqual(backendsOfA, ['backends 1,4 -> to_backend(4, 10.244.1.1, 8080)', 'backends 1,2 -> to_backend(2, 10.244.1.2, 8080)']);

  // A new controller reading the first state back gets the same ids, whatever the order it sees Services in.
  const fresh = new DesiredStateComputer({ capacity: unlimited, busy: { frontend: () => false, backend: () => false, group: () => false, member: () => false } });
  fresh.adopt(installed.reverse());
  const again = fresh.compute(desiredInputFromObjects({ services: [...services].reverse(), slices, nodes: [] }));
  assert.deepEqual(lines([...again.byOwner.values()].flat()), lines(installed));
});

void test('capacity: Services already on the switch keep their place', () => {
  const services = [svc('a', { clusterIP: '10.96.0.1' }), svc('b', { clusterIP: '10.96.0.2' })];
  const d = new DesiredStateComputer({ capacity: { ...unlimited, frontend: 1 } });
  const out = d.compute(desiredInputFromObjects({ services, slices: [], nodes: [] }), { has: (e) => e.type === 'frontend' && e.addr === '10.96.0.2' });
  assert.deepEqual([...out.byOwner.keys()], ['', 'ns/b']);
  assert.equal(out.unprogrammed.capacity, 1);
});

void test('an unchanged Service is not recomputed', () => {
  const input = desiredInputFromObjects({ services: [svc('a', {}), svc('b', { clusterIP: '10.96.0.2' })], slices: [], nodes: [] });
  const d = new DesiredStateComputer({ capacity: unlimited });
  const one = d.compute(input);
  const [a1, b1] = [one.byOwner.get('ns/a'), one.byOwner.get('ns/b')];
  const endpoints = new Map(input.endpoints);
  endpoints.set('ns/a', desiredInputFromObjects({ services: [], slices: [slice('a', [['10.244.1.1']])], nodes: [] }).endpoints.get('ns/a')!);
  for (const hint of [undefined, { dirty: ['ns/a'], servicesChanged: false, nodesChanged: false }]) {
    const d2 = new DesiredStateComputer({ capacity: unlimited });
    d2.compute(input);
    const two = d2.compute({ ...input, endpoints }, undefined, hint);
    assert.deepEqual([...two.changed.keys()], ['ns/a'], `hint ${JSON.stringify(hint)}`);
    assert.deepEqual(lines(two.changed.get('ns/a')!), lines(a1!));
    assert.deepEqual(lines(two.byOwner.get('ns/b')!), lines(b1!));
  }
});

void test('IPv6 is reported when the pipeline matches IPv4 only', () => {
  const input = desiredInputFromObjects({ services: [svc('dual', { clusterIPs: ['10.96.0.1', 'fd00::1'] })], slices: [], nodes: [] });
  const out = new DesiredStateComputer({ capacity: unlimited, ipv6: false }).compute(input);
  assert.deepEqual(lines(out.byOwner.get('ns/dual')!), ['reverse_nat 1 -> restore_frontend(10.96.0.1, 80)', 'frontends 10.96.0.1:80/TCP -> set_frontend(1, 0x1)']);
  assert.deepEqual(out.problems.map((p) => [p.field, p.reason]), [['spec.ports[0]', 'unsupported']]);
});

void test('incremental computes agree with a full compute (random Service churn with conflicts)', () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const live = new Map<string, V1Service>();
  const inc = new DesiredStateComputer({ capacity: unlimited });
  const view = (d: ReturnType<DesiredStateComputer['compute']>) => ({
    owners: [...d.byOwner]
      .map(([o, list]) => `${o}: ${list.filter((e) => e.type === 'frontend').map((e) => (e.type === 'frontend' ? `${e.addr}:${e.port}/${e.flags}` : '')).sort().join(' ')}`)
      .sort(),
    problems: d.problems.map((p) => `${p.service} ${p.field} ${p.message}`).sort(),
  });
  let input = desiredInputFromObjects({ services: [], slices: [], nodes: [] });
  inc.compute(input);
  for (let step = 0; step < 300; step++) {
    const name = `s${rnd(12)}`;
    const dirty = [`ns/${name}`];
    if (live.has(name) && rnd(3) === 0) live.delete(name);
    else {
      live.set(
        name,
        svc(
          name,
          { clusterIP: `10.96.0.${1 + rnd(6)}`, externalIPs: rnd(2) ? [`192.0.2.${rnd(4)}`] : [], ports: [{ name: 'a', port: 80 + rnd(2) }, ...(rnd(2) ? [{ name: 'b', port: 80 + rnd(2) }] : [])] },
          { createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, rnd(5))).toISOString() },
        ),
      );
    }
    const next = desiredInputFromObjects({ services: [...live.values()], slices: [], nodes: [] });
    // Keep the objects of unchanged Services identical, as the change trackers do.
    const services = new Map(input.services);
    services.delete(`ns/${name}`);
    const changed = next.services.get(`ns/${name}`);
    if (changed) services.set(`ns/${name}`, changed);
    input = { ...input, services };
    const got = view(inc.compute(input, undefined, { dirty, servicesChanged: true, nodesChanged: false }));
    const want = view(new DesiredStateComputer({ capacity: unlimited }).compute(input));
    assert.deepEqual(got, want, `step ${step}`);
  }
});

void test('lookup groups: a backend joining or leaving moves only its own slots; the group and slot ids stay; a new controller changes nothing', () => {
  const services = [svc('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })];
  const nodes = [node('n1', 1)];
  const endpoints = (ips: number[]) => [slice('web', ips.map((i): Ep => [`10.244.1.${10 + i}`]))];
  const d = new DesiredStateComputer({ capacity: unlimited });
  const slots = (out: ReturnType<DesiredStateComputer['compute']>) => new Map([...out.byOwner.get('ns/web')!].flatMap((e) => (e.type === 'member' ? [[e.memberId, e.addr] as const] : [])));
  const groupOf = (out: ReturnType<DesiredStateComputer['compute']>) => [...out.byOwner.get('ns/web')!].find((e) => e.type === 'group');
  const counts = (m: Map<number, string>) => [...m.values()].reduce((c, a) => c.set(a, (c.get(a) ?? 0) + 1), new Map<string, number>());
  /** Slots that changed backend, apart from those of `except` (the backend that left or joined). */
  const movedBetweenOthers = (a: Map<number, string>, b: Map<number, string>, except: string) => [...a].filter(([id, addr]) => b.get(id) !== addr && addr !== except && b.get(id) !== except).length;

  const two = d.compute(desiredInputFromObjects({ services, slices: endpoints([0, 1]), nodes }));
  const before = slots(two);
  assert.equal(before.size, LOOKUP_SLOTS, 'a NodePort Service gets a lookup group');
  const three = d.compute(desiredInputFromObjects({ services, slices: endpoints([0, 1, 2]), nodes }));
  const installed = [...three.byOwner.values()].flat(); // byOwner is a live view
  assert.deepEqual(groupOf(three), groupOf(two), 'the group (its member ids) is unchanged');
  const after = slots(three);
  assert.equal(counts(after).get('10.244.1.12'), 42, 'the new backend gets its share (127 / 3, rounded down)');
  assert.equal(movedBetweenOthers(before, after, '10.244.1.12'), 0, 'no slot moves between the backends that were there');

  const fresh = new DesiredStateComputer({ capacity: unlimited });
  fresh.adopt([...installed].reverse());
  const again = fresh.compute(desiredInputFromObjects({ services, slices: endpoints([0, 1, 2]), nodes }));
  assert.deepEqual(lines([...again.byOwner.values()].flat()).sort(), lines(installed).sort());
  assert.deepEqual(slots(again), after, 'the same member id holds the same backend');

  // The restarted controller goes on from what the switch holds: six backends, then a node with two of them is lost.
  const six = slots(fresh.compute(desiredInputFromObjects({ services, slices: endpoints([0, 1, 2, 3, 4, 5]), nodes })));
  const four = slots(fresh.compute(desiredInputFromObjects({ services, slices: endpoints([0, 1, 2, 3]), nodes })));
  const stayed = [...six].filter(([, addr]) => addr !== '10.244.1.14' && addr !== '10.244.1.15');
  assert.deepEqual(stayed.filter(([id, addr]) => four.get(id) !== addr), [], 'every slot of a backend that stays keeps it');
  const spread = [...counts(four).values()];
  assert.ok(Math.max(...spread) - Math.min(...spread) <= 1, `the freed slots are spread evenly: ${spread}`);
});

void test('lookup groups only where outside clients reach the group, and up to LOOKUP_MAX_BACKENDS backends', () => {
  const nodes = [node('n1', 1)];
  const members = (spec: Record<string, unknown>, n: number) => {
    const out = new DesiredStateComputer({ capacity: unlimited }).compute(
      desiredInputFromObjects({ services: [svc('web', spec)], slices: [slice('web', Array.from({ length: n }, (_, i): Ep => [`10.244.1.${10 + i}`]))], nodes }),
    );
    return [...out.byOwner.get('ns/web')!].filter((e) => e.type === 'member').length;
  };
  assert.equal(members({}, 3), 3, 'ClusterIP: one member per backend (pods are pinned by their hosts)');
  assert.equal(members({ externalIPs: ['192.0.2.1'] }, 3), LOOKUP_SLOTS);
  assert.equal(members({ type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }, LOOKUP_MAX_BACKENDS), LOOKUP_SLOTS);
  assert.equal(members({ type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }, LOOKUP_MAX_BACKENDS + 1), LOOKUP_MAX_BACKENDS + 1, 'a large group is balanced better plainly');
  const small = new DesiredStateComputer({ capacity: { ...unlimited, maxGroupSize: LOOKUP_SLOTS - 1 } }).compute(
    desiredInputFromObjects({ services: [svc('web', { externalIPs: ['192.0.2.1'] })], slices: [slice('web', [['10.244.1.10']])], nodes }),
  );
  assert.equal([...small.byOwner.get('ns/web')!].filter((e) => e.type === 'member').length, 1, 'a target whose groups cannot hold the slots gets plain groups');
});

void test('--port-mac: a bad value names the part that is wrong', () => {
  assert.throws(() => parsePortMac('1'), /--port-mac "1": expected PORT=MAC/);
  assert.throws(() => parsePortMac('512=02:00:00:00:00:01'), /port 512 out of range/);
  assert.throws(() => parsePortMac('1=02:00:00:00:01'), /"02:00:00:00:01" is not a MAC address/);
  assert.deepEqual(parsePortMac('7=02:AA:00:00:00:01'), { port: 7, mac: '02:aa:00:00:00:01' });
});

void test('a node joins with no manual step: its port from the topology map, its uplink MAC from its agent; an annotation overrides the port', () => {
  const topology = new Map([['n1', 3]]);
  const node = (annotations: Record<string, string>) => ({ metadata: { name: 'n1', annotations }, spec: { podCIDR: '10.244.1.0/24' }, status: { addresses: [{ type: 'InternalIP', address: '198.18.0.1' }] } });
  const mac = { 'talaria.io/uplink-mac': '02:00:00:00:00:01' };
  assert.deepEqual(nodeInfoFromNode(node(mac), topology), {
    node: { name: 'n1', internalIPs: ['198.18.0.1'], podCIDRs: [{ ip: '10.244.1.0', prefixLen: 24 }], switchPort: 3, uplinkMac: '02:00:00:00:00:01' },
    problems: [],
  });
  assert.equal(nodeInfoFromNode(node({ ...mac, 'talaria.io/switch-port': '9' }), topology).node.switchPort, 9, 'the annotation wins');
  const noAgent = nodeInfoFromNode(node({}), topology);
  assert.equal(noAgent.node.switchPort, undefined, 'no routes before the agent has published the MAC');
  assert.match(noAgent.problems.join('\n'), /Node n1: annotation talaria.io\/uplink-mac missing \(the node agent publishes it once it runs there\)/);
  const unknown = nodeInfoFromNode(node(mac), new Map());
  assert.equal(unknown.node.uplinkMac, undefined);
  assert.match(unknown.problems.join('\n'), /Node n1: no switch port: add it to the controller's topology \(--node-switch-port n1=PORT/);
});

void test('--node-switch-port: a bad value names the part that is wrong', () => {
  assert.throws(() => parseNodeSwitchPort('node-a'), /--node-switch-port "node-a": expected NODE=PORT/);
  assert.throws(() => parseNodeSwitchPort('node-a=0'), /port 0 out of range \(1..511\)/);
  assert.deepEqual(parseNodeSwitchPort('node-a.example.com=12'), { node: 'node-a.example.com', port: 12 });
});
