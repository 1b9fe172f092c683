import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { endpointsFromSlices, selectableEndpoints, sliceServiceName, type EndpointInfo } from './endpoints.js';

function slice(name: string, ports: { name?: string; port?: number; protocol?: string }[], endpoints: unknown[]): V1EndpointSlice {
  return {
    metadata: { namespace: 'ns', name, labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports,
    endpoints,
  } as V1EndpointSlice;
}

void test('endpoints from slices: conditions, named ports, duplicates, bad addresses', () => {
  const a = slice('web-a', [{ name: 'http', port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }], [
    { addresses: ['10.244.1.5'], nodeName: 'n1', zone: 'z1', hints: { forZones: [{ name: 'z1' }] } },
    { addresses: ['10.244.2.5'], conditions: { ready: false, serving: true, terminating: true }, nodeName: 'n2' },
    { addresses: ['bogus'] },
  ]);
  const b = slice('web-b', [{ name: 'http', port: 8080 }], [
    { addresses: ['10.244.1.5'], conditions: { ready: false } },
    { addresses: ['10.244.0.9'], conditions: { ready: false, serving: false, terminating: true } },
  ]);
  assert.equal(sliceServiceName(a), 'ns/web');
  const { endpoints, problems } = endpointsFromSlices('ns/web', [a, b]);
  assert.deepEqual(problems.map((p) => p.field), ['EndpointSlice web-a endpoints[2].addresses[0]', 'EndpointSlice web-a endpoints[2].addresses[0]']);
  const http = endpoints.get('ns/web:http/TCP')!;
  assert.deepEqual(
    http.map((e) => [e.addr, e.port, e.ready, e.serving, e.terminating, e.nodeName ?? null]),
    [
      ['10.244.0.9', 8080, false, false, true, null],
      ['10.244.1.5', 8080, true, true, false, 'n1'],
      ['10.244.2.5', 8080, false, true, true, 'n2'],
    ],
  );
  assert.deepEqual(http[1].zoneHints, ['z1']);
  assert.deepEqual(endpoints.get('ns/web:dns/UDP')!.map((e) => e.port), [5353, 5353]);
});

void test('selectable endpoints', () => {
  const ep = (addr: string, ready: boolean, serving: boolean, terminating: boolean): EndpointInfo => ({ addr, port: 80, ready, serving, terminating });
  const rows: [string, EndpointInfo[], string[]][] = [
    ['ready only', [ep('a', true, true, false), ep('b', false, true, true)], ['a']],
    ['serving terminating fallback', [ep('b', false, true, true), ep('c', false, false, true)], ['b']],
    ['nothing usable', [ep('c', false, false, true), ep('d', false, false, false)], []],
  ];
  for (const [name, eps, want] of rows) assert.deepEqual(selectableEndpoints(eps).map((e) => e.addr), want, name);
});
