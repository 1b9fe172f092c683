// Services and EndpointSlices shared by the baselines' golden tests: the
// shapes kube-proxy's own tests use (ClusterIP, NodePort with two endpoints,
// no endpoints, ClientIP affinity, externalTrafficPolicy Local).
import type { KubeObject } from '../apiserver/types.js';

export const NODE = 'node-1';

function svc(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'ns1' }, spec };
}

function slice(service: string, endpoints: { ip: string; node: string; ready?: boolean; terminating?: boolean }[], port: number, portName = 'p80', protocol = 'TCP'): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-abc`, namespace: 'ns1', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node,
      conditions: { ready: e.ready ?? true, serving: true, terminating: e.terminating ?? false },
    })),
    ports: [{ name: portName, port, protocol }],
  };
}

export const services: KubeObject[] = [
  svc('svc1', { type: 'ClusterIP', clusterIP: '10.96.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
  svc('svc2', { type: 'NodePort', clusterIP: '10.96.0.42', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 30001 }] }),
  svc('svc3', { type: 'ClusterIP', clusterIP: '10.96.0.43', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
  svc('svc4', { type: 'ClusterIP', clusterIP: '10.96.0.44', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
  svc('svc5', { type: 'NodePort', clusterIP: '10.96.0.45', externalTrafficPolicy: 'Local', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 30005 }] }),
  svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
];

export const slices: KubeObject[] = [
  slice('svc1', [{ ip: '10.244.1.2', node: 'node-1' }], 8080),
  slice('svc2', [{ ip: '10.244.1.3', node: 'node-1' }, { ip: '10.244.2.2', node: 'node-2' }, { ip: '10.244.2.9', node: 'node-2', ready: false, terminating: true }], 8080),
  slice('svc4', [{ ip: '10.244.2.3', node: 'node-2' }], 5353, 'dns', 'UDP'),
  slice('svc5', [{ ip: '10.244.1.4', node: 'node-1' }, { ip: '10.244.2.4', node: 'node-2' }], 8080),
];
