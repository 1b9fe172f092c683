// The default workload `up` creates: a Deployment `echo` of talaria/echo
// (pods-per-node x nodes replicas), a NodePort Service `echo` over it (HTTP
// and UDP on port 80), and --services N extra ClusterIP Services over the same
// pods for scale runs.
import type { KubeObject } from './client.js';
import { ECHO_IMAGE } from './images/images.js';
import { deployment, service } from './objects.js';

export const ECHO_APP = 'echo';
export const ECHO_PORT = 8080;
export const EXTRA_SERVICE_PREFIX = 'svc-';

export function echoDeployment(replicas: number): KubeObject {
  return deployment({
    name: ECHO_APP,
    image: ECHO_IMAGE,
    replicas,
    terminationGracePeriodSeconds: 5,
    ports: [
      { name: 'http', containerPort: ECHO_PORT, protocol: 'TCP' },
      { name: 'udp', containerPort: ECHO_PORT, protocol: 'UDP' },
    ],
  });
}

export function echoService(): KubeObject {
  return service(
    ECHO_APP,
    {
      type: 'NodePort',
      selector: { app: ECHO_APP },
      ports: [
        { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
        { name: 'udp', port: 80, targetPort: 'udp', protocol: 'UDP' },
      ],
    },
    { labels: { app: ECHO_APP } },
  );
}

/** Extra Service number i (1-based): svc-00001 ... */
export function extraService(i: number): KubeObject {
  return service(
    `${EXTRA_SERVICE_PREFIX}${String(i).padStart(5, '0')}`,
    { type: 'ClusterIP', selector: { app: ECHO_APP }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    { labels: { 'talaria.io/extra': 'true' } },
  );
}
