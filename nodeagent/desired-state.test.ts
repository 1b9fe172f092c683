import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { HOST_FE_F_AFFINITY, HOST_FE_F_HAS_ENDPOINTS, HOST_FE_F_LOCAL_ONLY } from '../bpf/layouts/host-maps.js';
import { DesiredStateMemo, desiredState } from './desired-state.js';

const svc = (name: string, spec: V1Service['spec'], labels?: Record<string, string>, status?: V1Service['status'], createdAt = '2026-01-01T00:00:00Z'): V1Service => ({
  metadata: { name, namespace: 'default', creationTimestamp: new Date(createdAt), ...(labels ? { labels } : {}) },
  spec,
  ...(status ? { status } : {}),
});
type Ep = { ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean };
const slice = (service: string, port: number, eps: Ep[], opts: { name?: string; portName?: string; protocol?: string } = {}): V1EndpointSlice => ({
  metadata: { name: opts.name ?? `${service}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  ports: [{ name: opts.portName ?? '', port, protocol: opts.protocol ?? 'TCP' }],
  endpoints: eps.map((e) => ({
    addresses: [e.ip],
    nodeName: e.node,
    conditions: { ready: e.ready ?? true, serving: e.serving ?? true, terminating: e.terminating ?? false },
  })),
});
const node = (name: string, ip: string): V1Node => ({ metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: ip }] } });
const nodes = [node('node-1', '198.18.1.2'), node('node-2', '198.18.2.2')];

function run(services: V1Service[], slices: V1EndpointSlice[], serviceProxyName?: string) {
  const d = desiredState({ nodeName: 'node-1', services, slices, nodes, serviceProxyName });
  return {
    problems: d.problems.map((p) => `${p.service} ${p.field}: ${p.message}`),
    fronts: Object.fromEntries([...d.frontends].map(([k, v]) => [k, { flags: v.value.flags, timeout: v.value.affinity_timeout_s, local: v.local.map((l) => `${l.addr}:${l.port}`) }])),
  };
}

const H = HOST_FE_F_HAS_ENDPOINTS;

describe('desired host state', () => {
  const cases: Array<{ name: string; services: V1Service[]; slices: V1EndpointSlice[]; serviceProxyName?: string; fronts: Record<string, { flags: number; timeout: number; local: string[] }>; problems?: string[] }> = [
    {
      name: 'ClusterIP with a ready endpoint',
      services: [svc('web', { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] })],
      slices: [slice('web', 8080, [{ ip: '10.244.2.5', node: 'node-2' }])],
      fronts: { '10.96.0.10:80/6': { flags: H, timeout: 0, local: [] } },
    },
    {
      name: 'no endpoints: the frontend is there without HAS_ENDPOINTS (the host rejects)',
      services: [svc('web', { clusterIP: '10.96.0.10', ports: [{ port: 53, protocol: 'UDP' }] })],
      slices: [],
      fronts: { '10.96.0.10:53/17': { flags: 0, timeout: 0, local: [] } },
    },
    {
      name: 'only terminating-but-serving endpoints are used when none is ready',
      services: [svc('web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] })],
      slices: [slice('web', 80, [{ ip: '10.244.2.5', ready: false, terminating: true }])],
      fronts: { '10.96.0.10:80/6': { flags: H, timeout: 0, local: [] } },
    },
    {
      name: 'not ready and not serving: no endpoint',
      services: [svc('web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] })],
      slices: [slice('web', 80, [{ ip: '10.244.2.5', ready: false, serving: false }])],
      fronts: { '10.96.0.10:80/6': { flags: 0, timeout: 0, local: [] } },
    },
    {
      name: 'ClientIP affinity with its timeout (default 10800)',
      services: [
        svc('a', { clusterIP: '10.96.0.10', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ port: 80 }] }),
        svc('b', { clusterIP: '10.96.0.11', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }),
      ],
      slices: [slice('a', 80, [{ ip: '10.244.2.5' }]), slice('b', 80, [{ ip: '10.244.2.6' }])],
      fronts: {
        '10.96.0.10:80/6': { flags: H | HOST_FE_F_AFFINITY, timeout: 60, local: [] },
        '10.96.0.11:80/6': { flags: H | HOST_FE_F_AFFINITY, timeout: 10800, local: [] },
      },
    },
    {
      name: 'internalTrafficPolicy=Local: this node\'s endpoints on the ClusterIP only; NodePorts on every node IP stay cluster-wide',
      services: [svc('web', { clusterIP: '10.96.0.10', type: 'NodePort', internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })],
      slices: [slice('web', 8080, [{ ip: '10.244.1.9', node: 'node-1' }, { ip: '10.244.2.5', node: 'node-2' }, { ip: '10.244.1.3', node: 'node-1' }], { portName: 'http' })],
      fronts: {
        '10.96.0.10:80/6': { flags: H | HOST_FE_F_LOCAL_ONLY, timeout: 0, local: ['10.244.1.3:8080', '10.244.1.9:8080'] },
        '198.18.1.2:30080/6': { flags: H, timeout: 0, local: [] },
        '198.18.2.2:30080/6': { flags: H, timeout: 0, local: [] },
      },
    },
    {
      name: 'external IPs and load balancer ingress IPs are frontends too',
      services: [svc('web', { clusterIP: '10.96.0.10', type: 'LoadBalancer', externalIPs: ['203.0.113.7'], ports: [{ port: 443 }] }, undefined, { loadBalancer: { ingress: [{ ip: '203.0.113.8' }] } })],
      slices: [slice('web', 443, [{ ip: '10.244.2.5' }])],
      fronts: {
        '10.96.0.10:443/6': { flags: H, timeout: 0, local: [] },
        '203.0.113.7:443/6': { flags: H, timeout: 0, local: [] },
        '203.0.113.8:443/6': { flags: H, timeout: 0, local: [] },
      },
    },
    {
      name: 'headless, ExternalName and other proxies\' Services are skipped',
      services: [
        svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
        svc('ext', { type: 'ExternalName', externalName: 'example.com' }),
        svc('other', { clusterIP: '10.96.0.12', ports: [{ port: 80 }] }, { 'service.kubernetes.io/service-proxy-name': 'someone-else' }),
      ],
      slices: [],
      fronts: {},
    },
    {
      name: 'ports match slices by name and protocol',
      services: [svc('dns', { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] })],
      slices: [slice('dns', 53, [{ ip: '10.244.2.5' }], { portName: 'dns', protocol: 'UDP' })],
      fronts: {
        '10.96.0.10:53/17': { flags: H, timeout: 0, local: [] },
        '10.96.0.10:53/6': { flags: 0, timeout: 0, local: [] },
      },
    },
    {
      name: 'a frontend claimed twice goes to the older Service, as on the switch (not to the first by name)',
      services: [
        svc('a', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }, undefined, undefined, '2026-02-01T00:00:00Z'),
        svc('b', { clusterIP: '10.96.0.11', externalIPs: ['10.96.0.10'], ports: [{ port: 80 }] }, undefined, undefined, '2026-01-01T00:00:00Z'),
      ],
      slices: [slice('b', 80, [{ ip: '10.244.2.5' }])],
      fronts: { '10.96.0.10:80/6': { flags: H, timeout: 0, local: [] }, '10.96.0.11:80/6': { flags: H, timeout: 0, local: [] } },
      problems: ['default/a spec.ports[0].port: 10.96.0.10:80/TCP is already served for Service default/b (spec.externalIPs[0], created earlier)'],
    },
    {
      name: 'with --service-proxy-name, the Services labelled with that name are served (and only those)',
      services: [
        svc('mine', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }, { 'service.kubernetes.io/service-proxy-name': 'talaria' }),
        svc('unlabelled', { clusterIP: '10.96.0.11', ports: [{ port: 80 }] }),
      ],
      slices: [],
      serviceProxyName: 'talaria',
      fronts: { '10.96.0.10:80/6': { flags: 0, timeout: 0, local: [] } },
    },
    {
      name: 'SCTP is not served (the switch does not load-balance it): a problem naming the port',
      services: [svc('sctp', { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'SCTP' }, { port: 81 }] })],
      slices: [],
      fronts: { '10.96.0.10:81/6': { flags: 0, timeout: 0, local: [] } },
      problems: ['default/sctp spec.ports[0].protocol: SCTP is not supported by the Talaria switch pipeline; this port is not programmed'],
    },
    {
      name: 'load balancer ingress IPs count only for type LoadBalancer',
      services: [svc('web', { clusterIP: '10.96.0.10', type: 'ClusterIP', ports: [{ port: 80 }] }, undefined, { loadBalancer: { ingress: [{ ip: '203.0.113.8' }] } })],
      slices: [],
      fronts: { '10.96.0.10:80/6': { flags: 0, timeout: 0, local: [] } },
    },
    {
      name: 'the same endpoint in two slices: the readier copy counts (a slice split in progress)',
      services: [svc('web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] })],
      slices: [slice('web', 8080, [{ ip: '10.244.2.5', ready: false, serving: false }], { name: 'web-1' }), slice('web', 8080, [{ ip: '10.244.2.5' }], { name: 'web-2' })],
      fronts: { '10.96.0.10:80/6': { flags: H, timeout: 0, local: [] } },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = run(c.services, c.slices, c.serviceProxyName);
      assert.deepEqual(got.fronts, c.fronts);
      assert.deepEqual(got.problems, c.problems ?? []);
    });
  }
});

void it('a memo kept between syncs gives what a fresh computation gives, as objects are replaced, added and removed', () => {
  const memo = new DesiredStateMemo();
  const same = (services: V1Service[], slices: V1EndpointSlice[]): void => {
    const withMemo = desiredState({ nodeName: 'node-1', services, slices, nodes, memo });
    const fresh = desiredState({ nodeName: 'node-1', services, slices, nodes });
    assert.deepEqual(withMemo, fresh);
  };
  const a = svc('a', { clusterIP: '10.96.0.1', ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] });
  const b = svc('b', { clusterIP: '10.96.0.2', ports: [{ port: 53, protocol: 'UDP', targetPort: 5353 }] });
  const sa = slice('a', 8080, [{ ip: '10.244.1.5', node: 'node-1' }]);
  same([a, b], [sa]);
  // An update replaces the object: a new port, a new endpoint.
  const a2 = svc('a', { clusterIP: '10.96.0.1', ports: [{ port: 81, protocol: 'TCP', targetPort: 8080 }] });
  const sa2 = slice('a', 8080, [{ ip: '10.244.1.5', node: 'node-1' }, { ip: '10.244.2.5', node: 'node-2' }]);
  same([a2, b], [sa2]);
  same([a2, b], [sa2, slice('b', 5353, [{ ip: '10.244.1.9' }], { protocol: 'UDP' })]);
  same([b], [sa2]);
  same([a2, b], []);
});

describe('health check node ports (externalTrafficPolicy=Local LoadBalancers)', () => {
  const lb = (name: string, extra: Partial<NonNullable<V1Service['spec']>>): V1Service =>
    svc(name, { type: 'LoadBalancer', clusterIP: `10.96.0.${name.length}`, externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }], ...extra });
  const checks = (services: V1Service[], slices: V1EndpointSlice[]) => {
    const d = desiredState({ nodeName: 'node-1', services, slices, nodes });
    return { checks: Object.fromEntries([...d.healthChecks].map(([port, c]) => [port, `${c.namespace}/${c.name} ${c.localEndpoints}`])), problems: d.problems.map((p) => `${p.service} ${p.field}: ${p.message}`) };
  };

  it('counts this node\'s ready endpoints once each, over all the ports; other nodes and unready ones do not count', () => {
    const slices = [
      slice('web', 80, [{ ip: '10.244.1.5', node: 'node-1' }, { ip: '10.244.1.6', node: 'node-1', ready: false, terminating: true }, { ip: '10.244.2.5', node: 'node-2' }], { portName: 'http' }),
      slice('web', 443, [{ ip: '10.244.1.5', node: 'node-1' }, { ip: '10.244.1.7', node: 'node-1' }], { portName: 'https', name: 'web-def' }),
    ];
    assert.deepEqual(checks([lb('web', { healthCheckNodePort: 32000 })], slices), { checks: { 32000: 'default/web 2' }, problems: [] });
    assert.deepEqual(checks([lb('web', { healthCheckNodePort: 32000 })], []).checks, { 32000: 'default/web 0' });
  });

  it('only LoadBalancers with externalTrafficPolicy Local have one', () => {
    assert.deepEqual(checks([lb('web', { healthCheckNodePort: 32000, externalTrafficPolicy: 'Cluster' }), lb('np', { type: 'NodePort', healthCheckNodePort: 32001 })], []).checks, {});
  });

  it('a bad or taken port is a problem naming the field; the other Services keep theirs', () => {
    const r = checks([lb('bad', { healthCheckNodePort: 70000 }), lb('first', { healthCheckNodePort: 32000 }), lb('second', { healthCheckNodePort: 32000 })], []);
    assert.deepEqual(r.checks, { 32000: 'default/first 0' });
    assert.deepEqual(r.problems, ['default/bad spec.healthCheckNodePort: 70000 is not a port number (1-65535)', 'default/second spec.healthCheckNodePort: 32000 is already the health check port of Service default/first']);
  });
});
