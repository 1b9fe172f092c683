// The Kubernetes objects every mode is measured with: the same Deployments,
// Services and client pod, applied through the testbed like a user would.

import { deployment, service } from '../testbed/objects.js';

export const CLIENT_POD = 'bench-client';
export const HTTP_SERVICE = 'bench-http';
export const UDP_SERVICE = 'bench-udp';
export const BULK_SERVICE = 'bench-bulk';
export const SERVER_APP = 'bench-nginx';
export const UDP_APP = 'bench-echo';
export const UDP_PORT = 9000;
/** iperf3 servers listen here in the nginx pods (started by the benchmark). */
export const BULK_PORT = 5201;
export const FILLER_PREFIX = 'bench-fill-';

const serviceOver = (name: string, app: string, port: number, protocol: 'TCP' | 'UDP', targetPort: number | string, extra: object = {}) =>
  service(name, { selector: { app }, ports: [{ name: 'p', port, protocol, targetPort }], ...extra });

/** Backends, Services and the client pod (pinned to the first node). */
export function workloadObjects(backends: number, clientNode: string): object[] {
  return [
    deployment({ name: SERVER_APP, image: 'nginx', replicas: backends, ports: [{ name: 'http', containerPort: 80 }] }),
    deployment({ name: UDP_APP, image: 'talaria/echo', replicas: backends, ports: [{ name: 'udp', containerPort: UDP_PORT, protocol: 'UDP' }] }),
    serviceOver(HTTP_SERVICE, SERVER_APP, 80, 'TCP', 'http'),
    serviceOver(UDP_SERVICE, UDP_APP, UDP_PORT, 'UDP', 'udp'),
    // iperf3's control and data connections must reach the same server: ClientIP affinity.
    serviceOver(BULK_SERVICE, SERVER_APP, BULK_PORT, 'TCP', BULK_PORT, { sessionAffinity: 'ClientIP' }),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: CLIENT_POD, namespace: 'default', labels: { app: CLIENT_POD } },
      spec: { nodeName: clientNode, containers: [{ name: 'client', image: 'talaria/echo', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] },
    },
  ];
}

/**
 * Services number `from` .. `to - 1`, each over the nginx backends: they give
 * every mode the rule set (chains, map entries, switch entries) of a cluster
 * with that many Services, the way kube-proxy's scale tests do.
 */
export function fillerServices(from: number, to: number): object[] {
  const out: object[] = [];
  for (let i = from; i < to; i++) out.push(serviceOver(`${FILLER_PREFIX}${i}`, SERVER_APP, 80, 'TCP', 'http'));
  return out;
}
