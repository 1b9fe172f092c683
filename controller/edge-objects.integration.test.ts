// Services and EndpointSlices with fields at their edges, sent through a real
// kube-apiserver to a running controller. What the API server refuses, it
// refuses naming the field (the controller never sees it); what it accepts
// and the switch cannot serve gets an Event naming the object and the field;
// the rest, and a Service that was there all along, stay programmed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiRequestError } from '../testbed/client.js';
import type { KubeObject } from '../testbed/client.js';
import { Harness, until } from './test-harness.js';

const svc = (name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { type: 'ClusterIP', ...spec } });
const slice = (name: string, service: string, body: Record<string, unknown>): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  ...body,
});
const port = (n: number, name = `p${n}`, protocol = 'TCP') => ({ name, port: n, protocol });

/** Refused by the API server, with its message naming the field. */
const REFUSED: { object: KubeObject; field: RegExp }[] = [
  { object: svc('edge-port-0', { ports: [port(0)] }), field: /spec\.ports\[0\]\.port/ },
  { object: svc('edge-port-65536', { ports: [port(65536)] }), field: /spec\.ports\[0\]\.port/ },
  { object: svc('edge-duplicate', { ports: [port(80, 'a'), port(80, 'b')] }), field: /spec\.ports\[1\]/ },
  { object: svc('edge-protocol', { ports: [port(80, 'a', 'QUIC')] }), field: /spec\.ports\[0\]\.protocol/ },
  { object: svc('edge-bad-ip', { externalIPs: ['300.1.1.1'], ports: [port(80)] }), field: /spec\.externalIPs\[0\]/ },
  { object: svc('edge-bad-range', { type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/33'], ports: [port(80)] }), field: /spec\.LoadBalancerSourceRanges\[0\]/ },
  { object: slice('edge-bad-address', 'edge-ends', { addressType: 'IPv4', ports: [port(8080)], endpoints: [{ addresses: ['not-an-ip'] }] }), field: /endpoints\[0\]\.addresses\[0\]/ },
];

describe('Kubernetes objects at their edges', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  it('the API server refuses what is malformed, Talaria reports what it cannot serve, everything else is programmed', async () => {
    const c = await h.controller();
    await h.service('canary', '10.96.3.1');
    await until('the canary programmed', async () => (await h.switchState()).has('frontend 10.96.3.1 80 TCP'));

    for (const r of REFUSED) {
      await assert.rejects(h.api.apply(r.object), (err: unknown) => {
        assert.ok(err instanceof ApiRequestError && err.status === 422, `${r.object.metadata.name}: ${String(err)}`);
        assert.match(err.message, r.field, `${r.object.metadata.name}: the API server's message names the field (${err.message})`);
        return true;
      });
    }

    // Accepted, and programmed: the port range's ends, a thousand ports, a selector of 60 labels.
    await h.api.apply(svc('edge-ends', { clusterIP: '10.96.3.2', ports: [port(1), port(65535)] }));
    await h.api.apply(slice('edge-ends-1', 'edge-ends', { addressType: 'IPv4', ports: [port(1), port(65535)], endpoints: [{ addresses: ['10.244.1.9'] }] }));
    await h.api.apply(svc('edge-many', { clusterIP: '10.96.3.3', ports: Array.from({ length: 1000 }, (_, i) => port(1000 + i)) }));
    await h.api.apply(svc('edge-selector', { clusterIP: '10.96.3.4', selector: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`label-${i}.example.com/k`, 'x'.repeat(63)])), ports: [port(80)] }));
    // Accepted, and not servable: IPv6 endpoints of an IPv4 Service, and SCTP.
    await h.api.apply(svc('edge-v6', { clusterIP: '10.96.3.5', ports: [port(80)] }));
    await h.api.apply(slice('edge-v6-1', 'edge-v6', { addressType: 'IPv6', ports: [port(8080, 'p80')], endpoints: [{ addresses: ['fd00::5'] }] }));
    await h.api.apply(svc('edge-sctp', { clusterIP: '10.96.3.6', ports: [port(80), port(81, 'sctp', 'SCTP')] }));

    await until('every accepted Service programmed', async () => {
      const s = await h.switchState();
      return ['10.96.3.2 1', '10.96.3.2 65535', '10.96.3.3 1000', '10.96.3.3 1999', '10.96.3.4 80', '10.96.3.6 80'].every((f) => s.has(`frontend ${f} TCP`));
    }, 60_000);
    const state = await h.switchState();
    assert.equal([...state.keys()].filter((k) => k.startsWith('frontend 10.96.3.3 ')).length, 1000, 'all thousand ports of edge-many');
    assert.ok(state.has('frontend 10.96.3.1 80 TCP'), 'the canary stays programmed');

    await until('Events on edge-v6 and edge-sctp', async () => {
      const names = new Set((await h.events()).map((e) => e.involvedObject.name));
      return names.has('edge-v6') && names.has('edge-sctp');
    });
    const events = await h.events();
    const on = (name: string) => events.filter((e) => e.involvedObject.name === name).map((e) => `${e.reason}: ${e.message}`);
    assert.deepEqual(on('edge-v6').length, 1, JSON.stringify(on('edge-v6')));
    assert.match(on('edge-v6')[0]!, /^TalariaUnsupported: spec\.ports\[0\]: IPv6 is not supported by the switch pipeline; not programmed: fd00::5/);
    assert.match(on('edge-sctp')[0]!, /^TalariaUnsupported: spec\.ports\[1\]\.protocol: .*SCTP/);
    for (const quiet of ['canary', 'edge-ends', 'edge-many', 'edge-selector']) assert.deepEqual(on(quiet), [], `no Event on ${quiet}`);
    await h.stopController(c);
  });
});
