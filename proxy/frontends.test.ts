import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { frontendCandidates, parseNodePortAddresses } from './frontends.js';
import { servicePortsFromService } from './service-port.js';
import { cidrContains, parseCidr } from './ip.js';

const svc: V1Service = { metadata: { namespace: 'ns', name: 'web', creationTimestamp: new Date(0) }, spec: { type: 'NodePort', clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5'], ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] } };
const nodes = [{ name: 'n1', internalIPs: ['198.18.1.2', '192.168.0.7'] }, { name: 'n2', internalIPs: ['198.18.2.2'] }];
const [sp] = servicePortsFromService(svc).ports;

void describe('frontends', () => {
  void it('NodePorts on every InternalIP, or only those in --nodeport-addresses (kube-proxy\'s nodePortAddresses)', () => {
    const nodePorts = (cidrs: string) => frontendCandidates(sp!, nodes, parseNodePortAddresses(cidrs)).filter((f) => f.kind === 'nodeport').map((f) => `${f.node} ${f.addr}`);
    assert.deepEqual(nodePorts(''), ['n1 198.18.1.2', 'n1 192.168.0.7', 'n2 198.18.2.2']);
    assert.deepEqual(nodePorts('198.18.0.0/15'), ['n1 198.18.1.2', 'n2 198.18.2.2']);
    assert.deepEqual(nodePorts('192.168.0.7/32, 10.0.0.0/8'), ['n1 192.168.0.7']);
    assert.equal(frontendCandidates(sp!, nodes, parseNodePortAddresses('203.0.113.0/24')).filter((f) => f.kind === 'cluster').length, 1, 'ClusterIPs are not NodePorts');
  });

  void it('a bad --nodeport-addresses names the bad CIDR', () => {
    assert.throws(() => parseNodePortAddresses('10.0.0.0/8,eth0'), /--nodeport-addresses "10.0.0.0\/8,eth0": "eth0" is not a CIDR/);
  });

  void it('cidrContains: by prefix, never across families', () => {
    const c = parseCidr('10.244.0.0/16')!;
    assert.equal(cidrContains(c, '10.244.255.1'), true);
    assert.equal(cidrContains(c, '10.245.0.1'), false);
    assert.equal(cidrContains(parseCidr('0.0.0.0/0')!, '8.8.8.8'), true);
    assert.equal(cidrContains(c, 'fd00::1'), false);
    assert.equal(cidrContains(parseCidr('fd00::/8')!, 'fd12::1'), true);
  });
});
