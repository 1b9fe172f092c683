// Where the real Kubernetes binaries are: `make setup` builds them from the
// Go module proxy (scripts/build-kubernetes.sh) and links their cache as
// build/kubernetes; TALARIA_KUBERNETES_BIN points elsewhere.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../bpf/testing/paths.js';

export type KubernetesBinary = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kube-proxy' | 'kubectl';

export function kubernetesBinDir(): string {
  return process.env.TALARIA_KUBERNETES_BIN ?? join(repoRoot(), 'build', 'kubernetes', 'bin');
}

/** The path of one binary; throws a readable error when setup has not built it. */
export function kubernetesBinary(name: KubernetesBinary): string {
  const p = join(kubernetesBinDir(), name);
  if (!existsSync(p)) throw new Error(`${p} does not exist: run "make setup" (it builds the Kubernetes components from the Go module proxy) or set TALARIA_KUBERNETES_BIN`);
  return p;
}
