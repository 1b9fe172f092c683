// A throwaway certificate authority for mutual-TLS P4Runtime (tests and the
// testbed), made with the openssl command line: one CA, a server
// certificate for the switch and client certificates named by their common
// name. What a cluster gets from cert-manager or its own CA.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  certFile: string;
  keyFile: string;
}

export interface Pki {
  caFile: string;
  issue(name: string, o?: { server?: { ips?: readonly string[]; dns?: readonly string[] } }): CertFiles;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A new CA in `dir` (which must exist); certificates valid for a year, P-256 keys. */
export function createPki(dir: string, caName = 'talaria-test-ca'): Pki {
  const caFile = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '365', '-subj', `/CN=${caName}`]);
  return {
    caFile,
    issue(name, o = {}) {
      const base = join(dir, name);
      const ext = `${base}.ext`;
      const sans = [...(o.server?.dns ?? []).map((d) => `DNS:${d}`), ...(o.server?.ips ?? []).map((ip) => `IP:${ip}`)];
      writeFileSync(ext, [`extendedKeyUsage=${o.server ? 'serverAuth' : 'clientAuth'}`, ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : [])].join('\n') + '\n');
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`]);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', `${base}.crt`, '-days', '365', '-extfile', ext]);
      return { certFile: `${base}.crt`, keyFile: `${base}.key` };
    },
  };
}
