import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { desiredInputFromObjects } from '../controller/desired/from-objects.js';
import type { TablesJson } from '../p4/switch-tables.js';
import { renderServiceRows, serviceRows } from './service-list.js';

const svc: V1Service = {
  metadata: { namespace: 'default', name: 'web', creationTimestamp: new Date('2026-01-01T00:00:00Z') },
  spec: { type: 'NodePort', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] },
};
const slice: V1EndpointSlice = {
  metadata: { namespace: 'default', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [
    { addresses: ['10.244.1.2'], nodeName: 'n1', conditions: { ready: true, serving: true, terminating: false } },
    { addresses: ['10.244.2.3'], nodeName: 'n2', conditions: { ready: false, serving: true, terminating: true } },
  ],
};
const node: V1Node = { metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '198.18.1.2' }] } };
const input = desiredInputFromObjects({ services: [svc], slices: [slice], nodes: [node] });
const tables: TablesJson = {
  tables: {
    frontends: [{ match: { dst_addr: '10.96.0.10', dst_port: '80', protocol: '6' }, action: { name: 'set_frontend', params: { frontend_id: '7', flags: '0' } }, counters: { packets: 120, bytes: 9000 } }],
    backends: [{ match: { frontend_id: '7', backend_id: '3' }, action: { name: 'to_backend', params: { backend_id: '3', addr: '10.244.1.2', port: '8080' } }, counters: { packets: 100, bytes: 7000 } }],
  },
  groups: {},
};

void describe('talaria service list', () => {
  void it('joins the Services with what the switch holds: programmed frontends, their packets, packets pinned per backend', () => {
    const [row] = serviceRows(input, tables);
    assert.equal(row!.servicePort, 'default/web:http/TCP');
    assert.deepEqual(row!.frontends, [
      { addr: '10.96.0.10', port: 80, kind: 'cluster', onSwitch: { frontendId: 7, packets: 120 } },
      { addr: '198.18.1.2', port: 30080, kind: 'nodeport', onSwitch: null },
    ]);
    assert.deepEqual(row!.backends, [
      { addr: '10.244.1.2', port: 8080, state: 'ready', node: 'n1', pinnedPackets: 100 },
      { addr: '10.244.2.3', port: 8080, state: 'terminating', node: 'n2', pinnedPackets: 0 },
    ]);
    const text = renderServiceRows([row!]);
    assert.match(text, /^ {2}cluster {6}10\.96\.0\.10:80 +on the switch \(frontend 7\), 120 packets$/m);
    assert.match(text, /^ {2}nodeport {5}198\.18\.1\.2:30080 +NOT on the switch$/m);
    assert.match(text, /^ {2}-> 10\.244\.2\.3:8080 +terminating on n2, 0 pinned packets$/m);
  });

  void it('without the switch: the Kubernetes side only, and why the switch was not read', () => {
    const rows = serviceRows(input);
    assert.equal(rows[0]!.frontends[0]!.onSwitch, undefined);
    assert.match(renderServiceRows(rows, 'the switch at 127.0.0.1:1 could not be read: x'), /\(the switch at 127\.0\.0\.1:1 could not be read: x\)$/);
  });
});
