// The kubeconfig the testbed hands to the controller, the node agents and
// kubectl: plain HTTP on loopback, a token the server does not check.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export const KUBECONFIG_CONTEXT = 'talaria-testbed';

export function kubeconfigYaml(serverUrl: string, namespace = 'default'): string {
  const name = KUBECONFIG_CONTEXT;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses http:// unless insecure-skip-tls-verify is set.
    clusters: [{ name, cluster: { server: serverUrl, 'insecure-skip-tls-verify': true } }],
    users: [{ name, user: { token: 'talaria-testbed' } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace } }],
    'current-context': name,
    preferences: {},
  });
}

/** Write the kubeconfig (mode 0600) and return its path. */
export function writeKubeconfig(path: string, serverUrl: string): string {
  writeFileSync(path, kubeconfigYaml(serverUrl), { mode: 0o600 });
  return path;
}
