// Kubeconfig files for the control plane's clients, self-contained (the CA
// and the credentials are embedded), one per identity, as kubeadm writes them.
import { readFile, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { KeyPair } from './pki.js';

export type Credentials = { clientCert: KeyPair } | { token: string };

const b64 = async (file: string): Promise<string> => (await readFile(file)).toString('base64');

export async function writeKubeconfig(path: string, o: { server: string; caCert: string; user: string; credentials: Credentials }): Promise<void> {
  const user =
    'token' in o.credentials
      ? { token: o.credentials.token }
      : { 'client-certificate-data': await b64(o.credentials.clientCert.cert), 'client-key-data': await b64(o.credentials.clientCert.key) };
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'testbed', cluster: { server: o.server, 'certificate-authority-data': await b64(o.caCert) } }],
    users: [{ name: o.user, user }],
    contexts: [{ name: 'testbed', context: { cluster: 'testbed', user: o.user } }],
    'current-context': 'testbed',
  };
  await writeFile(path, stringify(doc), { mode: 0o600 });
}
