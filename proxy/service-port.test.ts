import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { servicePortsFromService, skipReason } from './service-port.js';

function svc(spec: Record<string, unknown>, extra: { labels?: Record<string, string>; status?: unknown } = {}): V1Service {
  return {
    metadata: { namespace: 'ns', name: 'web', labels: extra.labels, creationTimestamp: new Date('2026-01-01T00:00:00Z') },
    spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...spec },
    status: extra.status,
  } as V1Service;
}

void test('skipped Services', () => {
  const rows: [string, V1Service, string | undefined, string | undefined][] = [
    ['plain ClusterIP', svc({}), undefined, undefined],
    ['headless', svc({ clusterIP: 'None' }), undefined, 'headless'],
    ['ExternalName', svc({ type: 'ExternalName', clusterIP: '' }), undefined, 'type ExternalName'],
    ['other proxy', svc({}, { labels: { 'service.kubernetes.io/service-proxy-name': 'x' } }), undefined, 'label service.kubernetes.io/service-proxy-name=x'],
    ['our proxy name', svc({}, { labels: { 'service.kubernetes.io/service-proxy-name': 'talaria' } }), 'talaria', undefined],
    ['unlabelled when a name is set', svc({}), 'talaria', 'label service.kubernetes.io/service-proxy-name='],
  ];
  for (const [name, s, proxyName, want] of rows) {
    assert.equal(skipReason(s, { serviceProxyName: proxyName }), want, name);
    if (want) assert.equal(servicePortsFromService(s, { serviceProxyName: proxyName }).ports.length, 0, name);
  }
});

void test('service port fields', () => {
  const r = servicePortsFromService(
    svc(
      {
        type: 'LoadBalancer',
        clusterIPs: ['10.96.0.10', 'fd00::000a'],
        ports: [
          { name: 'http', port: 80, nodePort: 30080 },
          { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 },
        ],
        externalIPs: ['192.0.2.1'],
        sessionAffinity: 'ClientIP',
        externalTrafficPolicy: 'Local',
        internalTrafficPolicy: 'Local',
      },
      { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }, { hostname: 'lb.example' }] } } },
    ),
  );
  assert.deepEqual(r.problems, []);
  assert.deepEqual(
    r.ports.map((p) => [p.key, p.port, p.nodePort, p.clusterIPs, p.externalIPs, p.loadBalancerIPs, p.affinityTimeoutSeconds, p.externalTrafficLocal, p.internalTrafficLocal]),
    [
      ['ns/web:http/TCP', 80, 30080, ['10.96.0.10', 'fd00::a'], [{ ip: '192.0.2.1', field: 'spec.externalIPs[0]' }], [{ ip: '203.0.113.7', field: 'status.loadBalancer.ingress[0].ip' }], 10800, true, true],
      ['ns/web:dns/UDP', 53, 30053, ['10.96.0.10', 'fd00::a'], [{ ip: '192.0.2.1', field: 'spec.externalIPs[0]' }], [{ ip: '203.0.113.7', field: 'status.loadBalancer.ingress[0].ip' }], 10800, true, true],
    ],
  );
});

void test('bad fields are reported by field, the rest kept', () => {
  const r = servicePortsFromService(
    svc({
      type: 'NodePort',
      externalIPs: ['192.0.2.1', 'not-an-ip'],
      ports: [
        { name: 'a', port: 70000 },
        { name: 'b', port: 81, nodePort: 99999 },
        { name: 'c', port: 82, protocol: 'SCTP' },
        { name: 'd', port: 83 },
      ],
    }),
  );
  assert.deepEqual(
    r.problems.map((p) => [p.field, p.reason]),
    [
      ['spec.externalIPs[1]', 'invalid'],
      ['spec.ports[0].port', 'invalid'],
      ['spec.ports[1].nodePort', 'invalid'],
      ['spec.ports[2].protocol', 'unsupported'],
    ],
  );
  assert.deepEqual(r.ports.map((p) => [p.key, p.nodePort, p.externalIPs]), [
    ['ns/web:b/TCP', undefined, [{ ip: '192.0.2.1', field: 'spec.externalIPs[0]' }]],
    ['ns/web:d/TCP', undefined, [{ ip: '192.0.2.1', field: 'spec.externalIPs[0]' }]],
  ]);
});

void test("loadBalancerSourceRanges are read as kube-proxy reads them, by family, and bad entries allow no one", () => {
  const ranges = (list: unknown[], type = 'LoadBalancer') => {
    const r = servicePortsFromService(svc({ type, loadBalancerSourceRanges: list }));
    const show = (f: 4 | 6) => r.ports[0]!.sourceRanges[f]?.map((c) => `${c.ip}/${c.prefixLen}`);
    return { 4: show(4), 6: show(6), problems: r.problems.map((p) => `${p.field}: ${p.message}`) };
  };
  assert.deepEqual(ranges([]), { 4: undefined, 6: undefined, problems: [] }, 'no ranges: everyone');
  assert.deepEqual(ranges([' 192.0.2.0/24 ', '10.1.2.3/8', '10.0.0.0/8']), { 4: ['192.0.2.0/24', '10.0.0.0/8'], 6: undefined, problems: [] }, 'trimmed, host bits cleared, duplicates once');
  assert.deepEqual(ranges(['192.0.2.0/24', 'fd00::/8']), { 4: ['192.0.2.0/24'], 6: ['fd00::/8'], problems: [] }, 'each family its own');
  assert.deepEqual(ranges(['fd00::/8']), { 4: undefined, 6: ['fd00::/8'], problems: [] }, 'only IPv6 ranges leave IPv4 open (kube-proxy)');
  assert.deepEqual(ranges(['192.0.2.0/24', '0.0.0.0/0']), { 4: undefined, 6: undefined, problems: [] }, 'a zero-masked range opens its family');
  assert.deepEqual(ranges(['192.0.2.0/24'], 'NodePort'), { 4: undefined, 6: undefined, problems: [] }, 'only LoadBalancer Services have ranges');
  const bad = ranges(['10.0.0.0/33']);
  assert.deepEqual([bad[4], bad[6]], [[], []], 'nothing valid left: closed, not open');
  assert.deepEqual(bad.problems, ['spec.loadBalancerSourceRanges[0]: "10.0.0.0/33" is not a CIDR; it allows no source']);
});
