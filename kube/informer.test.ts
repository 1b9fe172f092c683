// The informer against a real kube-apiserver: what it does when the server
// refuses it at first, and when the server's store is replaced under it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, KubeConfig, type V1Service } from '@kubernetes/client-node';
import { TestApiServer } from '../testbed/controlplane/test-api-server.js';
import { Informer } from './informer.js';

async function until(what: string, fn: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function serviceInformer(kc: KubeConfig, logs: string[], names: Set<string>, watchTimeoutSeconds?: number): Informer<V1Service> {
  const core = kc.makeApiClient(CoreV1Api);
  return new Informer<V1Service>({
    what: 'services',
    kubeconfig: kc,
    path: '/api/v1/services',
    list: () => core.listServiceForAllNamespaces(),
    handlers: { onChange: (s) => names.add(s.metadata!.name!), onDelete: (s) => names.delete(s.metadata!.name!) },
    log: (l) => logs.push(l),
    watchTimeoutSeconds,
    retryInitialMs: 100,
    retryMaxMs: 1000,
  });
}

const service = (name: string, clusterIP: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { clusterIP, ports: [{ port: 80 }] } });

void describe('informer against kube-apiserver', () => {
  let api: TestApiServer;
  before(async () => {
    api = await TestApiServer.start();
  });
  after(() => api.stop());

  void it('a 403 is logged and retried until the permission is granted', async () => {
    const path = await api.controlPlane.kubeconfigFor('latecomer', { user: 'latecomer', groups: [] });
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    const logs: string[] = [];
    const names = new Set<string>();
    const informer = serviceInformer(kc, logs, names);
    informer.start();
    try {
      await until('a logged 403', () => logs.some((l) => /list of services failed: HTTP 403/.test(l)));
      assert.equal(informer.hasSynced, false);
      await api.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'latecomer' }, rules: [{ apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] }] });
      await api.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'latecomer' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'latecomer' }, subjects: [{ kind: 'User', name: 'latecomer', apiGroup: 'rbac.authorization.k8s.io' }] });
      await informer.synced;
      assert.ok(names.has('kubernetes'), [...names].join(','));
    } finally {
      await informer.stop();
    }
  });

  void it('a store replaced under a watch: the silent watch ends in a relist that drops what is gone', async (t) => {
    const logs: string[] = [];
    const names = new Set<string>();
    const informer = serviceInformer(api.kubeConfig(), logs, names, 3);
    informer.start();
    try {
      // Enough writes that the informer's resourceVersion is ahead of a new store's for a while.
      for (let i = 0; i < 20; i++) await api.create(service(`before-${i}`, `10.96.7.${i + 1}`));
      await until('before-19 seen', () => names.has('before-19'));
      await api.restart(200, { emptyStore: true });
      await api.create(service('after', '10.96.8.1'));
      const t0 = Date.now();
      await until('after seen and the old ones gone', () => names.has('after') && !names.has('before-0'), 60_000);
      t.diagnostic(`caught up ${Date.now() - t0} ms after the first write to the new store; log: ${logs.join(' | ')}`);
      assert.deepEqual([...names].sort(), ['after', 'kubernetes']);
    } finally {
      await informer.stop();
    }
  });
});
