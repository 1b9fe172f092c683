// The control plane's certificates, made per control plane with the openssl
// command line (Node's crypto cannot issue X.509): a CA, the API server's
// serving certificate, one client certificate per identity (the user is the
// CN, the groups are the Os, as kube-apiserver reads them), and the key pair
// that signs service account tokens. P-256 keys: fast to make, and accepted
// everywhere Kubernetes takes keys.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../network/exec.js';

/** A client identity as the API server authenticates it. */
export interface Identity {
  /** The user name (certificate CN), e.g. system:node:node-1. */
  user: string;
  /** The groups (certificate Os), e.g. system:nodes. */
  groups?: readonly string[];
}

export interface KeyPair {
  cert: string;
  key: string;
}

const DAYS = '3650';

async function newKey(path: string): Promise<void> {
  await run(['openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path]);
}

function subject(id: Identity): string {
  const esc = (v: string): string => v.replace(/[/=+,]/g, (c) => `\\${c}`);
  return [...(id.groups ?? []).map((g) => `/O=${esc(g)}`), `/CN=${esc(id.user)}`].join('');
}

export class Pki {
  private constructor(readonly dir: string) {}

  get caCert(): string {
    return join(this.dir, 'ca.crt');
  }

  get caKey(): string {
    return join(this.dir, 'ca.key');
  }

  /** Service account token signing key (private) and its public half. */
  get serviceAccountKey(): string {
    return join(this.dir, 'sa.key');
  }

  get serviceAccountPub(): string {
    return join(this.dir, 'sa.pub');
  }

  /** Makes a CA and the service account key pair in `dir`. */
  static async create(dir: string): Promise<Pki> {
    const p = new Pki(dir);
    await newKey(p.caKey);
    await run(['openssl', 'req', '-x509', '-new', '-key', p.caKey, '-subj', '/CN=talaria-testbed-ca', '-days', DAYS, '-out', p.caCert]);
    await newKey(p.serviceAccountKey);
    await run(['openssl', 'ec', '-in', p.serviceAccountKey, '-pubout', '-out', p.serviceAccountPub]);
    return p;
  }

  /** A serving certificate for the given DNS names and IP addresses. */
  async server(name: string, dnsNames: readonly string[], ips: readonly string[]): Promise<KeyPair> {
    const san = [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((i) => `IP:${i}`)].join(',');
    return this.issue(name, `/CN=${name}`, ['extendedKeyUsage=serverAuth', `subjectAltName=${san}`]);
  }

  /** A client certificate for an identity. */
  async client(fileName: string, id: Identity): Promise<KeyPair> {
    return this.issue(fileName, subject(id), ['extendedKeyUsage=clientAuth']);
  }

  private async issue(fileName: string, subj: string, extensions: readonly string[]): Promise<KeyPair> {
    const pair = { cert: join(this.dir, `${fileName}.crt`), key: join(this.dir, `${fileName}.key`) };
    await newKey(pair.key);
    await run([
      'openssl', 'req', '-new', '-x509', '-key', pair.key, '-subj', subj, '-days', DAYS,
      '-CA', this.caCert, '-CAkey', this.caKey,
      '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
      ...extensions.flatMap((e) => ['-addext', e]),
      '-out', pair.cert,
    ]);
    return pair;
  }

  /** The CA certificate's PEM (for clients that verify the API server). */
  caPem(): Promise<string> {
    return readFile(this.caCert, 'utf8');
  }
}
