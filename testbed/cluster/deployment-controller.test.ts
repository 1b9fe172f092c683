// Deployments as the testbed uses them: replicas become scheduled pods with
// generated names, owner references and pod-template-hash; scaling down
// deletes pods gracefully; template changes roll pods over. The last test
// drives it all over HTTP with @kubernetes/client-node.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { ObjectStore } from '../apiserver/store.js';
import type { StoredObject } from '../apiserver/types.js';
import { startCluster, startControlPlane } from './control-plane.js';
import type { Cluster } from './control-plane.js';
import { POD_TEMPLATE_HASH_LABEL } from './deployment-controller.js';

let store: ObjectStore;
let cluster: Cluster;

beforeEach(() => {
  store = new ObjectStore();
  cluster = startCluster(store, { onError: (c, k, e) => assert.fail(`${c} ${k}: ${String(e)}`) });
});

afterEach(() => cluster.stop());

function node(name: string, ready = true): void {
  store.create('nodes', { metadata: { name }, spec: {}, status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
}

function deployment(name: string, replicas: number, image = 'talaria/echo'): void {
  store.create('deployments', {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image, ports: [{ name: 'http', containerPort: 8080 }] }] } },
    },
  });
}

function podsOf(name: string): StoredObject[] {
  return [...store.scan('pods', 'default')].filter((p) => p.metadata.labels?.app === name).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

/** What the kubelet would do: give every bound pod an IP and Ready, and finish terminating ones. */
function kubelet(): void {
  let n = 0;
  for (const p of [...store.scan('pods')]) {
    if (p.metadata.deletionTimestamp) store.delete('pods', p.metadata.namespace!, p.metadata.name, { gracePeriodSeconds: 0 });
    else if (p.spec.nodeName && !p.status?.podIP) {
      store.patch('pods', p.metadata.namespace!, p.metadata.name, { status: { phase: 'Running', podIP: `10.244.9.${++n}`, conditions: [{ type: 'Ready', status: 'True' }] } }, 'merge', { subresource: 'status' });
    }
  }
}

describe('DeploymentController', () => {
  it('creates replicas spread over Ready nodes, named and labelled like Kubernetes', async () => {
    node('n1');
    node('n2');
    node('n3');
    node('down', false);
    deployment('web', 5);
    await cluster.settled();
    const pods = podsOf('web');
    assert.equal(pods.length, 5);
    const hash = pods[0]!.metadata.labels![POD_TEMPLATE_HASH_LABEL]!;
    for (const p of pods) {
      assert.match(p.metadata.name, new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      assert.equal(p.metadata.ownerReferences![0]!.kind, 'Deployment');
      assert.equal(p.metadata.ownerReferences![0]!.controller, true);
    }
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
    assert.deepEqual([...perNode.values()].sort(), [1, 2, 2]);
    assert.equal(perNode.get('down'), undefined);
    kubelet();
    await cluster.settled();
    const d = store.peek('deployments', 'default', 'web')!;
    assert.deepEqual([d.status.replicas, d.status.readyReplicas, d.status.updatedReplicas], [5, 5, 5]);
  });

  it('scales down gracefully, not-ready pods first, and back up', async () => {
    node('n1');
    deployment('web', 3);
    await cluster.settled();
    kubelet();
    const [, second] = podsOf('web');
    store.patch('pods', 'default', second!.metadata.name, { status: { conditions: [{ type: 'Ready', status: 'False' }] } }, 'merge', { subresource: 'status' });
    store.patch('deployments', 'default', 'web', { spec: { replicas: 2 } });
    await cluster.settled();
    const terminating = podsOf('web').filter((p) => p.metadata.deletionTimestamp);
    assert.deepEqual(terminating.map((p) => p.metadata.name), [second!.metadata.name]);
    kubelet();
    await cluster.settled();
    assert.equal(podsOf('web').length, 2);
    store.patch('deployments', 'default', 'web', { spec: { replicas: 4 } });
    await cluster.settled();
    assert.equal(podsOf('web').length, 4);
  });

  it('keeps pods pending until a node is Ready, then schedules them', async () => {
    deployment('web', 2);
    await cluster.settled();
    assert.deepEqual(podsOf('web').map((p) => p.spec.nodeName), [undefined, undefined]);
    node('late');
    await cluster.settled();
    assert.deepEqual(podsOf('web').map((p) => p.spec.nodeName), ['late', 'late']);
  });

  it('rolls pods over to a new template once the new ones are ready', async () => {
    node('n1');
    deployment('web', 2);
    await cluster.settled();
    kubelet();
    const oldHash = podsOf('web')[0]!.metadata.labels![POD_TEMPLATE_HASH_LABEL];
    store.patch('deployments', 'default', 'web', { spec: { template: { metadata: { labels: { app: 'web', v: '2' } } } } });
    await cluster.settled();
    assert.equal(podsOf('web').filter((p) => !p.metadata.deletionTimestamp).length, 4);
    kubelet(); // new pods ready: the old ones go
    await cluster.settled();
    kubelet();
    await cluster.settled();
    const hashes = new Set(podsOf('web').map((p) => p.metadata.labels![POD_TEMPLATE_HASH_LABEL]));
    assert.equal(podsOf('web').length, 2);
    assert.ok(!hashes.has(oldHash));
  });

  it('deletes a Deployment\'s pods with it', async () => {
    node('n1');
    deployment('web', 2);
    await cluster.settled();
    store.delete('deployments', 'default', 'web');
    assert.ok(podsOf('web').every((p) => p.metadata.deletionTimestamp));
  });
});

describe('control plane over HTTP', () => {
  it('serves Deployments, scale, Services and their EndpointSlices to @kubernetes/client-node', async () => {
    const cp = await startControlPlane({ onError: (c, k, e) => assert.fail(`${c} ${k}: ${String(e)}`) });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const disc = kc.makeApiClient(k8s.DiscoveryV1Api);
    const inf = k8s.makeInformer(kc, '/apis/discovery.k8s.io/v1/endpointslices', () => disc.listEndpointSliceForAllNamespaces());
    try {
      await core.createNode({ body: { metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } } });
      await inf.start();
      await apps.createNamespacedDeployment({
        namespace: 'default',
        body: { metadata: { name: 'echo' }, spec: { replicas: 2, selector: { matchLabels: { app: 'echo' } }, template: { metadata: { labels: { app: 'echo' } }, spec: { containers: [{ name: 'echo', image: 'talaria/echo', ports: [{ name: 'http', containerPort: 8080 }] }] } } } },
      });
      const svc = await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'echo' }, spec: { type: 'NodePort', selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 'http' }] } } });
      assert.ok(svc.spec!.clusterIP && svc.spec!.ports![0]!.nodePort);
      await cp.settled();
      for (const p of cp.store.scan('pods', 'default')) {
        cp.store.patch('pods', 'default', p.metadata.name, { status: { podIP: `10.244.1.${p.metadata.name.length + Math.floor(Math.random() * 200)}`, phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, 'merge', { subresource: 'status' });
      }
      await cp.settled();
      const ready = (): number => inf.list('default').flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready).length;
      for (let i = 0; i < 2000 && ready() < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(ready(), 2);
      assert.equal(inf.list('default')[0]!.ports![0]!.port, 8080);

      const scale = await apps.readNamespacedDeploymentScale({ name: 'echo', namespace: 'default' });
      assert.equal(scale.spec!.replicas, 2);
      await apps.patchNamespacedDeploymentScale({ name: 'echo', namespace: 'default', body: { spec: { replicas: 1 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await cp.settled();
      const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=echo' });
      assert.equal(pods.items.filter((p) => p.metadata!.deletionTimestamp).length, 1);
      await assert.rejects(
        apps.patchNamespacedDeployment({ name: 'echo', namespace: 'default', body: [{ op: 'replace', path: '/spec/replicas', value: -2 }] }),
        (e) => e instanceof k8s.ApiException && JSON.parse(e.body as string).details.causes[0].field === 'spec.replicas',
      );
    } finally {
      await inf.stop();
      await cp.stop();
    }
  });
});
